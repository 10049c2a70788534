"""System checks: configuration problems shown with a hint, not tracebacks."""

import shutil

from django.conf import settings
from django.core import checks

from installs.exceptions import BackendUnavailableError


@checks.register()
def check_tools(app_configs, **kwargs):
    errors = []
    from installs.resolver import uv_binary

    if not uv_binary():
        errors.append(
            checks.Error(
                "uv is not installed, so Python dependencies cannot be resolved.",
                hint="pip install -r requirements.txt installs uv into the venv.",
                id="installs.E001",
            )
        )
    if not shutil.which("npm"):
        errors.append(
            checks.Warning(
                "npm is not on PATH, so skills with npm dependencies cannot be installed.",
                hint="Install Node.js and npm (Debian: apt-get install nodejs npm).",
                id="installs.W002",
            )
        )
    return errors


@checks.register()
def check_backend(app_configs, **kwargs):
    from installs.backends.base import get_backend

    try:
        get_backend().validate()
    except BackendUnavailableError as exc:
        return [
            checks.Error(
                exc.message,
                hint="Set SKILLINSTALL_BACKEND=venv, or start the Docker engine and make "
                "the base image: scripts/base_image.sh IMAGE-TAG.",
                id="installs.E003",
            )
        ]
    except ImportError as exc:
        return [
            checks.Error(
                f"Backend {settings.SKILLINSTALL_BACKEND!r} cannot be loaded: {exc}",
                id="installs.E004",
            )
        ]
    return []


@checks.register()
def check_target(app_configs, **kwargs):
    from installs.requirements.python import target_environment

    try:
        target_environment()
    except ValueError as exc:
        return [
            checks.Error(
                f"The target of the environments is not valid: {exc}",
                hint="Set SKILLINSTALL_TARGET_PYTHON to a version such as 3.11 and "
                "SKILLINSTALL_TARGET_PLATFORM to linux, macos, windows or a triple.",
                id="installs.E005",
            )
        ]
    return []
