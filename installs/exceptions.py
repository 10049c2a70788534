"""Errors of skillinstall: one base class, one narrow subclass per failure.

Each error carries a stable ``code`` that the API returns and a message that
names the bad value and where it came from.
"""


class SkillInstallError(Exception):
    """Base of every error skillinstall raises on purpose."""

    code = "error"
    status_code = 400

    def __init__(self, message, *, details=None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidSpecError(SkillInstallError):
    """A requirement or npm dependency that cannot be accepted."""

    code = "invalid_spec"


class InvalidManifestError(SkillInstallError):
    """A manifest or skill object that cannot be accepted."""

    code = "invalid_manifest"


class ConflictError(SkillInstallError):
    """Specs that no version can satisfy together."""

    code = "conflict"
    status_code = 409

    def __init__(self, message, *, conflicts=(), details=None):
        super().__init__(message, details=details)
        self.conflicts = list(conflicts)


class ResolutionError(SkillInstallError):
    """The resolver could not produce a lock."""

    code = "resolution_failed"
    status_code = 409

    def __init__(self, message, *, packages=(), explanation="", details=None):
        super().__init__(message, details=details)
        self.packages = list(packages)
        self.explanation = explanation


class PackageNotFoundError(ResolutionError):
    """A package or version that the index does not have."""

    code = "package_not_found"


class SecurityBlockedError(SkillInstallError):
    """A security finding that blocks the install."""

    code = "security_blocked"
    status_code = 409


class BackendUnavailableError(SkillInstallError):
    """The configured build backend cannot work on this machine."""

    code = "backend_unavailable"
    status_code = 503


class BuildError(SkillInstallError):
    """Building an environment from a lock failed."""

    code = "build_failed"
    status_code = 500


class LockBusyError(SkillInstallError):
    """Another worker holds the claim on a skill or artifact."""

    code = "busy"
    status_code = 409


class SkillNotFoundError(SkillInstallError):
    """No skill with the given id."""

    code = "not_found"
    status_code = 404


class NoRollbackTargetError(SkillInstallError):
    """No earlier successful environment to roll a skill back to."""

    code = "no_rollback_target"
    status_code = 409


class ConfigurationError(SkillInstallError):
    """The service's own configuration cannot be used (not the client's fault)."""

    code = "configuration_error"
    status_code = 503
