"""The one JSON shape every API error takes, and the handler that makes it.

``{"code": ..., "message": ..., "details": {...}}``: ``code`` is stable for
clients to branch on, ``message`` is one sentence naming the bad value, and
``details`` carries field errors or the error's own data. A conflict adds
``conflicts``.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from installs.exceptions import ConflictError, SkillInstallError

logger = logging.getLogger(__name__)

# Both ways of failing authentication get one code: clients react the same.
_CODES = {
    exceptions.ValidationError: "invalid",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
}


class AlreadyExists(exceptions.APIException):
    """A resource created with an id that is taken."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "already_exists"
    default_detail = "The resource already exists."


def error_body(code, message, details=None, **extra):
    """Return the error document every error response carries."""
    return {"code": code, "message": message, "details": details or {}, **extra}


def conflict_data(conflict):
    """Return a conflict (a stored row, a report or a dict) as plain data."""
    from installs.api.serializers import ConflictSerializer

    if hasattr(conflict, "as_dict"):
        return conflict.as_dict()
    if isinstance(conflict, dict):
        return conflict
    return ConflictSerializer(conflict).data


def _first_error(detail, path=""):
    """Return (field path, text) of the first error in a DRF error tree."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                return _first_error(value, path)
            return _first_error(value, f"{path}[{key}]" if path else str(key))
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], path)
    return path, str(detail)


def _count_errors(detail):
    if isinstance(detail, dict):
        return sum(_count_errors(value) for value in detail.values())
    if isinstance(detail, list):
        return sum(_count_errors(value) for value in detail) if detail else 0
    return 1


def validation_message(detail):
    """Return one sentence naming the first bad field of a DRF error tree."""
    path, text = _first_error(detail)
    message = f"Invalid {path}: {text}" if path else text
    more = _count_errors(detail) - 1
    if more:
        message += f" ({more} more error{'s' if more > 1 else ''} in details)"
    return message


def _api_error(exc):
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        details = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        return error_body("invalid", validation_message(details), details)

    code = _CODES.get(type(exc))
    if code is None:
        code = getattr(detail, "code", None) or exc.default_code
    return error_body(code, str(detail))


def handle_exception(exc, context):
    """Turn any error a view raises into the one JSON error shape.

    Errors that are not the client's (a bug, a lost database) are left to
    Django, which logs them and answers 500.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, SkillInstallError):
        extra = {}
        if isinstance(exc, ConflictError):
            extra["conflicts"] = [conflict_data(c) for c in exc.conflicts]
        set_rollback()
        return Response(
            error_body(exc.code, exc.message, exc.details, **extra),
            status=exc.status_code,
        )

    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    return Response(_api_error(exc), status=exc.status_code, headers=headers)
