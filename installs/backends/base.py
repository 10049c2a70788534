"""The shape every build backend follows: validate, build, find, remove.

A backend turns a lock into an environment named by its dependency hash. It
builds into a partial location first and publishes only a complete result,
so a reader never sees half an environment.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class BuildResult:
    reference: str
    size_bytes: int


class BaseBackend:
    """A place where environments are built and kept."""

    name = ""
    # Whether the backend can build the npm part of a lock.
    supports_npm = True
    # Whether the build itself runs without network access.
    isolated_network = False

    def validate(self):
        """Raise BackendUnavailableError if this backend cannot work here."""
        raise NotImplementedError

    def reference_for(self, dependency_hash):
        """Return where the environment for ``dependency_hash`` lives."""
        raise NotImplementedError

    def exists(self, reference):
        """Return True if a complete environment lives at ``reference``."""
        raise NotImplementedError

    def build(self, *, dependency_hash, python_lock, npm_lock, run_id, log):
        """Build the environment and return a BuildResult.

        ``python_lock`` is a requirements file with hashes (may be empty),
        ``npm_lock`` the text of a package-lock.json (may be empty), ``log``
        a callable that appends a line to the run's log. On failure, raise
        BuildError and leave nothing behind.
        """
        raise NotImplementedError

    def remove(self, reference):
        """Remove a complete environment; a missing one is not an error."""
        raise NotImplementedError

    def remove_partial(self, dependency_hash, run_id):
        """Remove what a build by ``run_id`` may have left half done."""
        raise NotImplementedError


BACKENDS = {
    "venv": "installs.backends.venv.VenvBackend",
    "docker": "installs.backends.docker.DockerBackend",
}


def get_backend(name=None):
    """Return an instance of the named (or configured) backend."""
    name = name or settings.SKILLINSTALL_BACKEND
    if name not in BACKENDS:
        from installs.exceptions import BackendUnavailableError

        raise BackendUnavailableError(
            f"Unknown backend {name!r}: choose one of {', '.join(sorted(BACKENDS))}."
        )
    return import_string(BACKENDS[name])()
