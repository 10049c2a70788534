"""The default backend: one uv-made virtual environment per dependency hash."""

import logging

from django.conf import settings

from installs.backends.base import BaseBackend
from installs.exceptions import BackendUnavailableError
from installs.resolver import uv_binary

logger = logging.getLogger(__name__)


class VenvBackend(BaseBackend):
    name = "venv"

    def validate(self):
        if not uv_binary():
            raise BackendUnavailableError("The venv backend needs uv, which is not installed.")
        root = settings.SKILLINSTALL_ARTIFACT_ROOT
        root.mkdir(parents=True, exist_ok=True)

    def reference_for(self, dependency_hash):
        return str(settings.SKILLINSTALL_ARTIFACT_ROOT / dependency_hash)
