"""Start real skillinstall processes (commands, qcluster) against the test's
database and settings, so that tests see what separate workers do."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)

_FORWARDED = {
    "SKILLINSTALL_ARTIFACT_ROOT": lambda value: str(value),
    "SKILLINSTALL_WORK_ROOT": lambda value: str(value),
    "SKILLINSTALL_INDEX_URL": str,
    "SKILLINSTALL_FIND_LINKS": lambda value: ",".join(map(str, value)),
    "SKILLINSTALL_NO_INDEX": lambda value: "1" if value else "",
    "SKILLINSTALL_NPM_REGISTRY": str,
    "SKILLINSTALL_BACKEND": str,
    "SKILLINSTALL_LOCK_TIMEOUT": str,
    "SKILLINSTALL_PYTHON_CONSTRAINTS": str,
    "SKILLINSTALL_NPM_CONSTRAINTS": str,
    "SKILLINSTALL_DOCKER_BASE_IMAGE": str,
    "SKILLINSTALL_TARGET_PYTHON": str,
    "SKILLINSTALL_TARGET_PLATFORM": str,
    "SKILLINSTALL_ALLOW_SDISTS": lambda value: ",".join(value),
}


def database_url():
    """Return a URL for the database the current test is using."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    return (
        f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST']}:"
        f"{params['PORT'] or 5432}/{params['NAME']}"
    )


def process_env(**extra):
    """Return an environment that gives a child process the test's settings."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env["DJANGO_SETTINGS_MODULE"] = "skillinstall_project.settings"
    for name, convert in _FORWARDED.items():
        env[name] = convert(getattr(settings, name))
    env.update(extra)
    return env


def manage(*args, **popen_kwargs):
    """Start ``manage.py`` with ``args`` in a child process and return it."""
    return subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=popen_kwargs.pop("env", None) or process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen_kwargs,
    )
