"""Who may call what: anonymous callers get 401 everywhere, readers read,
and starting work or changing skills needs the trigger permission."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import get_resolver, resolve
from rest_framework.authtoken.models import Token

from installs.api import urls as api_urls
from installs.models import InstallRun
from tests.api.helpers import assert_error, client_for

# One call per route of the API, with ids that need not exist: the caller is
# turned away before anything is looked up.
EVERY_ROUTE = [
    ("post", "/api/auto-install/install"),
    ("post", "/api/auto-install/batch"),
    ("post", "/api/auto-install/check"),
    ("get", "/api/auto-install/status/acme/a"),
    ("get", "/api/skills/"),
    ("post", "/api/skills/"),
    ("get", "/api/skills/acme/a"),
    ("put", "/api/skills/acme/a"),
    ("patch", "/api/skills/acme/a"),
    ("get", "/api/runs/"),
    ("get", "/api/runs/1"),
    ("post", "/api/runs/1/rollback"),
    ("get", "/api/batches/"),
    ("get", "/api/batches/1"),
    ("get", "/api/conflicts/"),
    ("get", "/api/conflicts/1"),
    ("get", "/api/no/such/endpoint"),
]
WRITES = [
    ("post", "/api/auto-install/install", {"skill_id": "acme/a"}),
    ("post", "/api/auto-install/batch", {"skill_ids": ["acme/a"]}),
    ("post", "/api/skills/", {"id": "acme/new"}),
    ("put", "/api/skills/acme/a", {"name": "A"}),
    ("patch", "/api/skills/acme/a", {"name": "A"}),
    ("post", "/api/runs/{run}/rollback", None),
]
NO_TRIGGER = (
    "User 'reader' may not start installs or change skills: that needs the "
    "'installs.trigger_install' permission or staff status."
)


def test_every_route_is_in_the_table():
    names = {pattern.name for pattern in api_urls.urlpatterns}

    covered = {resolve(url).url_name for _, url in EVERY_ROUTE}

    assert covered == names


@pytest.mark.parametrize("method, url", EVERY_ROUTE)
def test_anonymous_callers_get_401_everywhere(anonymous_client, method, url):
    response = getattr(anonymous_client, method)(url, {}, format="json")

    assert_error(
        response,
        401,
        "not_authenticated",
        "Authentication credentials were not provided.",
        details={},
    )
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_gets_401(db):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")

    response = client.get("/api/skills/")

    assert_error(response, 401, "not_authenticated", "Invalid token.")


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_are_public(anonymous_client, path):
    response = anonymous_client.get(path)

    assert response.status_code == 200


def test_a_session_login_reads_too(reader, make_skill):
    make_skill("acme/a")
    client = client_for(None)
    client.force_login(reader)

    response = client.get("/api/skills/acme/a")

    assert response.status_code == 200
    assert response.json()["id"] == "acme/a"


@pytest.fixture
def skill_with_run(make_skill):
    skill = make_skill("acme/a")
    return InstallRun.objects.create(skill=skill, trigger="cli", status="succeeded")


@pytest.mark.parametrize("method, url, body", WRITES)
def test_readers_may_not_start_work_or_change_skills(
    reader_client, skill_with_run, method, url, body
):
    url = url.format(run=skill_with_run.pk)
    runs = InstallRun.objects.count()

    response = getattr(reader_client, method)(url, body, format="json")

    assert_error(response, 403, "permission_denied", NO_TRIGGER, details={})
    assert InstallRun.objects.count() == runs


@pytest.mark.parametrize("user", ["operator", "staff"])
def test_the_trigger_permission_or_staff_may_install(request, make_skill, user):
    make_skill("acme/a")
    client = client_for(request.getfixturevalue(user))

    response = client.post(
        "/api/auto-install/install", {"skill_id": "acme/a"}, format="json"
    )

    assert response.status_code == 202
    run = InstallRun.objects.get(pk=response.json()["id"])
    assert run.requested_by == request.getfixturevalue(user)
    assert run.trigger == "api"


def test_readers_may_check_since_nothing_is_stored(reader_client, make_skill):
    make_skill("acme/a", python=["numpy==1.21.0"])

    response = reader_client.post(
        "/api/auto-install/check", {"skill_ids": ["acme/a"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"conflicts": [], "checked": 1, "ok": True}


# --- issue_token ---------------------------------------------------------------


def issue_token(*args):
    out, err = StringIO(), StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_issue_token_creates_a_user_that_may_trigger(db):
    key, messages = issue_token("ci", "--create", "--grant-trigger")

    user = User.objects.get(username="ci")
    assert Token.objects.get(user=user).key == key
    assert user.has_perm("installs.trigger_install")
    assert not user.is_staff
    assert not user.has_usable_password()
    assert messages.splitlines() == [
        "Created user 'ci'.",
        "Granted installs.trigger_install to 'ci'.",
        "Issued a new token for 'ci'.",
    ]


def test_issued_token_authenticates(db, make_skill):
    make_skill("acme/a")
    key, _ = issue_token("ci", "--create", "--staff")
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.post(
        "/api/auto-install/install", {"skill_id": "acme/a"}, format="json"
    )

    assert response.status_code == 202
    assert response.json()["requested_by"] == "ci"


def test_issue_token_prints_the_same_token_again(db):
    first, _ = issue_token("ci", "--create")
    again, messages = issue_token("ci")

    assert again == first
    assert messages == ""


def test_issue_token_refuses_an_unknown_user_without_create(db):
    with pytest.raises(CommandError) as excinfo:
        issue_token("ghost")

    assert str(excinfo.value) == (
        "User 'ghost' does not exist; pass --create to make it."
    )
    assert not User.objects.filter(username="ghost").exists()


def test_the_api_catch_all_leaves_the_schema_and_docs_alone():
    assert resolve("/api/schema/").url_name == "schema"
    assert resolve("/api/docs/").url_name == "swagger-ui"
    assert get_resolver().resolve("/api/skills/").namespace == "api"
