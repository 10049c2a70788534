"""Settings for skillinstall, read from the environment.

Every setting has an embedded default (SQLite, ORM broker, venv backend) so
that a fresh checkout runs as is; production sets the environment instead.
"""

import os
import platform
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SKILLINSTALL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_list(name, default=""):
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


def _secret_key():
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    # A key made once per checkout keeps sessions valid across restarts
    # without shipping a shared secret in the repository.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = _env_list(
    "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver"
)
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_q",
    "installs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "skillinstall_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "skillinstall_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, which is what
    # select_for_update gives on PostgreSQL: claims never interleave.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that workers started by a test see its database;
    # one per test process so that concurrent runs of the suite do not meet.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SKILLINSTALL_TEST_DB_NAME")
        or str(VAR_DIR / f"test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)

LOGIN_URL = "/admin/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "installs.api.exceptions.handle_exception",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "skillinstall API",
    "DESCRIPTION": "Install the Python and npm dependencies of agent-platform skills.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Runs, conflicts and findings each have a "kind" of their own.
    "ENUM_NAME_OVERRIDES": {
        "RunKindEnum": "installs.models.InstallRun.Kind",
        "ConflictKindEnum": "installs.models.Conflict.Kind",
        "FindingKindEnum": "installs.models.Finding.Kind",
    },
}

# django-q2: the ORM broker on the embedded default, Redis when configured.
SKILLINSTALL_REDIS_URL = os.environ.get("SKILLINSTALL_REDIS_URL", "")
Q_CLUSTER = {
    "name": os.environ.get("SKILLINSTALL_QUEUE_NAME", "skillinstall"),
    "workers": int(os.environ.get("SKILLINSTALL_WORKERS", "1")),
    "timeout": int(os.environ.get("SKILLINSTALL_TASK_TIMEOUT", "1800")),
    "retry": int(os.environ.get("SKILLINSTALL_TASK_TIMEOUT", "1800")) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "poll": 0.2,
    "ack_failures": True,
    "save_limit": 1000,
}
if SKILLINSTALL_REDIS_URL:
    Q_CLUSTER["redis"] = SKILLINSTALL_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "installs": {
            "handlers": ["console"],
            "level": os.environ.get("SKILLINSTALL_LOG_LEVEL", "INFO"),
        },
    },
}

# --- skillinstall -----------------------------------------------------------

# Where built environments live: one directory per dependency hash.
SKILLINSTALL_ARTIFACT_ROOT = Path(
    os.environ.get("SKILLINSTALL_ARTIFACT_ROOT", VAR_DIR / "artifacts")
)
# Scratch space for resolution and partial builds.
SKILLINSTALL_WORK_ROOT = Path(
    os.environ.get("SKILLINSTALL_WORK_ROOT", VAR_DIR / "work")
)
# "venv" (default) or "docker".
SKILLINSTALL_BACKEND = os.environ.get("SKILLINSTALL_BACKEND", "venv")
SKILLINSTALL_DOCKER_BASE_IMAGE = os.environ.get(
    "SKILLINSTALL_DOCKER_BASE_IMAGE", "skillinstall/base:latest"
)
SKILLINSTALL_DOCKER_URL = os.environ.get("SKILLINSTALL_DOCKER_URL", "")
# Seconds a claim on a skill or artifact lasts without a heartbeat.
SKILLINSTALL_LOCK_TIMEOUT = int(os.environ.get("SKILLINSTALL_LOCK_TIMEOUT", "300"))
# The Python index for uv; empty means uv's own default.
SKILLINSTALL_INDEX_URL = os.environ.get("SKILLINSTALL_INDEX_URL", "")
SKILLINSTALL_FIND_LINKS = _env_list("SKILLINSTALL_FIND_LINKS")
# Only packages from the find-links directories, never an index.
SKILLINSTALL_NO_INDEX = os.environ.get("SKILLINSTALL_NO_INDEX", "") == "1"
# Source distributions whose build code may run (names); wheels only otherwise.
SKILLINSTALL_ALLOW_SDISTS = _env_list("SKILLINSTALL_ALLOW_SDISTS")
# The npm registry; empty means npm's configured registry.
SKILLINSTALL_NPM_REGISTRY = os.environ.get("SKILLINSTALL_NPM_REGISTRY", "")
# Platform constraints: a pip-style constraints file and a JSON name->range file.
SKILLINSTALL_PYTHON_CONSTRAINTS = os.environ.get("SKILLINSTALL_PYTHON_CONSTRAINTS", "")
SKILLINSTALL_NPM_CONSTRAINTS = os.environ.get("SKILLINSTALL_NPM_CONSTRAINTS", "")
# The environments being built: marker evaluation and uv's target.
# The default is the service's own interpreter, which the venv backend builds
# with; a bare "3.11" would mean 3.11.0 to the resolver and refuse packages
# that need a later patch release.
SKILLINSTALL_TARGET_PYTHON = os.environ.get(
    "SKILLINSTALL_TARGET_PYTHON", platform.python_version()
)
SKILLINSTALL_TARGET_PLATFORM = os.environ.get("SKILLINSTALL_TARGET_PLATFORM", "linux")
# Seconds one uv or npm call may take before the run fails.
SKILLINSTALL_TOOL_TIMEOUT = int(os.environ.get("SKILLINSTALL_TOOL_TIMEOUT", "900"))
# Bounds on what a manifest may carry.
SKILLINSTALL_MAX_MANIFEST_BYTES = int(
    os.environ.get("SKILLINSTALL_MAX_MANIFEST_BYTES", str(1024 * 1024))
)
SKILLINSTALL_MAX_SPEC_LENGTH = int(
    os.environ.get("SKILLINSTALL_MAX_SPEC_LENGTH", "500")
)
SKILLINSTALL_MAX_DEPENDENCIES = int(
    os.environ.get("SKILLINSTALL_MAX_DEPENDENCIES", "200")
)
