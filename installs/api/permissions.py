"""Who may do what through the API: reading needs a login; starting
installs, batches and rollbacks and changing skills needs the
``installs.trigger_install`` permission or staff status."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

TRIGGER_PERMISSION = "installs.trigger_install"


def can_trigger(user):
    """Return True if ``user`` may start installs and change skills."""
    return bool(
        user
        and user.is_authenticated
        and (user.is_staff or user.has_perm(TRIGGER_PERMISSION))
    )


class CanTriggerInstall(BasePermission):
    """Allow logged-in users to read and triggering users to change state."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        if can_trigger(request.user):
            return True
        self.message = (
            f"User '{request.user.get_username()}' may not start installs or "
            f"change skills: that needs the '{TRIGGER_PERMISSION}' permission "
            "or staff status."
        )
        return False
