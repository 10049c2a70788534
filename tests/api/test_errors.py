"""Every error takes one JSON shape: a stable code, one sentence naming the
bad value, and details."""

import pytest
from rest_framework import exceptions

from installs.api.exceptions import handle_exception, validation_message
from installs.exceptions import (
    BackendUnavailableError,
    ConflictError,
    InvalidManifestError,
    LockBusyError,
    SkillNotFoundError,
)
from installs.models import InstallRun
from tests.api.helpers import assert_error


@pytest.mark.parametrize(
    "exc, status, body",
    [
        (
            SkillNotFoundError("Skill 'x' does not exist.", details={"missing": ["x"]}),
            404,
            {
                "code": "not_found",
                "message": "Skill 'x' does not exist.",
                "details": {"missing": ["x"]},
            },
        ),
        (
            InvalidManifestError("Skill 'x': 'name' must be a string."),
            400,
            {
                "code": "invalid_manifest",
                "message": "Skill 'x': 'name' must be a string.",
                "details": {},
            },
        ),
        (
            LockBusyError("Skill 'x' is being installed by run 3."),
            409,
            {
                "code": "busy",
                "message": "Skill 'x' is being installed by run 3.",
                "details": {},
            },
        ),
        (
            BackendUnavailableError("The venv backend needs uv."),
            503,
            {
                "code": "backend_unavailable",
                "message": "The venv backend needs uv.",
                "details": {},
            },
        ),
        (
            ConflictError(
                "numpy clashes.",
                conflicts=[{"package": "numpy", "specs": []}],
            ),
            409,
            {
                "code": "conflict",
                "message": "numpy clashes.",
                "details": {},
                "conflicts": [{"package": "numpy", "specs": []}],
            },
        ),
        (
            exceptions.ValidationError({"skill_id": ["This field is required."]}),
            400,
            {
                "code": "invalid",
                "message": "Invalid skill_id: This field is required.",
                "details": {"skill_id": ["This field is required."]},
            },
        ),
        (
            exceptions.ValidationError("Give one thing."),
            400,
            {
                "code": "invalid",
                "message": "Give one thing.",
                "details": {"non_field_errors": ["Give one thing."]},
            },
        ),
        (
            exceptions.MethodNotAllowed("DELETE"),
            405,
            {
                "code": "method_not_allowed",
                "message": 'Method "DELETE" not allowed.',
                "details": {},
            },
        ),
        (
            exceptions.Throttled(wait=3),
            429,
            {
                "code": "throttled",
                "message": "Request was throttled. Expected available in 3 seconds.",
                "details": {},
            },
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_errors_map_to_one_shape(exc, status, body):
    response = handle_exception(exc, {})

    assert response.status_code == status
    assert response.data == body


def test_throttling_says_when_to_retry():
    response = handle_exception(exceptions.Throttled(wait=3), {})

    assert response["Retry-After"] == "3"


def test_errors_that_are_not_the_clients_are_left_to_django():
    assert handle_exception(RuntimeError("boom"), {}) is None


@pytest.mark.parametrize(
    "detail, message",
    [
        ({"a": ["Bad."], "b": ["Worse."]}, "Invalid a: Bad. (1 more error in details)"),
        ({"skill_ids": {1: ["Not valid."]}}, "Invalid skill_ids[1]: Not valid."),
        (
            {"non_field_errors": ["Give either."], "x": ["No.", "Never."]},
            "Give either. (2 more errors in details)",
        ),
    ],
)
def test_validation_message_names_the_first_bad_field(detail, message):
    assert validation_message(detail) == message


# --- through the API ---------------------------------------------------------


def test_an_unknown_path_under_api_is_a_json_404(operator_client):
    response = operator_client.get("/api/no/such/endpoint")

    assert_error(
        response,
        404,
        "not_found",
        "There is no API endpoint at '/api/no/such/endpoint'.",
        details={},
    )


def test_a_method_the_endpoint_lacks_is_a_405(operator_client):
    response = operator_client.delete("/api/skills/acme/a")

    assert_error(response, 405, "method_not_allowed", 'Method "DELETE" not allowed.')
    assert "PATCH" in response["Allow"]


def test_a_body_that_is_not_json_is_a_415(operator_client):
    response = operator_client.post(
        "/api/auto-install/install", "skill_id=a", content_type="text/plain"
    )

    assert_error(
        response,
        415,
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request.',
    )


def test_malformed_json_is_a_400(operator_client):
    response = operator_client.post(
        "/api/auto-install/install", "{oops", content_type="application/json"
    )

    assert_error(
        response,
        400,
        "parse_error",
        "JSON parse error - Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
    )


def test_a_missing_field_is_named(operator_client):
    response = operator_client.post("/api/auto-install/install", {}, format="json")

    assert_error(
        response,
        400,
        "invalid",
        "Invalid skill_id: This field is required.",
        details={"skill_id": ["This field is required."]},
    )


def test_a_page_past_the_end_is_a_404(operator_client):
    response = operator_client.get("/api/skills/?page=9")

    assert_error(response, 404, "not_found", "Invalid page.")


def test_an_unreadable_platform_constraints_file_is_a_server_problem(
    operator_client, make_skill, settings, tmp_path
):
    make_skill("acme/a", python=["requests"])
    settings.SKILLINSTALL_PYTHON_CONSTRAINTS = str(tmp_path / "gone.txt")

    response = operator_client.post(
        "/api/auto-install/install", {"skill_id": "acme/a"}, format="json"
    )

    assert response.status_code == 503
    assert response.json() == {
        "code": "configuration_error",
        "message": f"Constraints file {tmp_path / 'gone.txt'} cannot be read: "
        "No such file or directory.",
        "details": {},
    }
    assert not InstallRun.objects.exists()
