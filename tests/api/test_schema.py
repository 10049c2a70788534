"""The OpenAPI schema: it describes every endpoint, and no request built
from it makes the API answer with a server error."""

import time
from collections import Counter

import pytest
import schemathesis
from django.contrib.auth.models import Permission, User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from installs.models import Artifact, Batch, Conflict, InstallRun, Skill

# Bounds on the fuzzing: examples per operation and generation mode, so that
# the whole run stays within a few minutes.
EXAMPLES = 15
REAL_ID_EXAMPLES = 10


def test_schema_describes_every_endpoint_and_its_errors(anonymous_client):
    schema = anonymous_client.get("/api/schema/?format=json").json()

    operations = {
        (path, method): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert sorted(operations) == [
        ("/api/auto-install/batch", "post"),
        ("/api/auto-install/check", "post"),
        ("/api/auto-install/install", "post"),
        ("/api/auto-install/status/{skill_id}", "get"),
        ("/api/batches/", "get"),
        ("/api/batches/{id}", "get"),
        ("/api/conflicts/", "get"),
        ("/api/conflicts/{id}", "get"),
        ("/api/runs/", "get"),
        ("/api/runs/{id}", "get"),
        ("/api/runs/{id}/rollback", "post"),
        ("/api/skills/", "get"),
        ("/api/skills/", "post"),
        ("/api/skills/{id}", "get"),
        ("/api/skills/{id}", "patch"),
        ("/api/skills/{id}", "put"),
    ]
    for key, operation in operations.items():
        error = operation["responses"]["401"]["content"]["application/json"]
        assert error["schema"] == {"$ref": "#/components/schemas/Error"}, key
    install = operations["/api/auto-install/install", "post"]["responses"]
    assert sorted(install) == ["200", "202", "400", "401", "403", "404", "409", "415"]
    assert install["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConflictError"
    }
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {
        "code",
        "message",
        "details",
    }


@pytest.fixture
def wsgi_app(db):
    """The project's WSGI app, sharing the test's open transaction.

    Django closes connections at the end of each request; the test client
    stops that, and so must a test that calls the WSGI app itself.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def real_data(db):
    """A user allowed to trigger installs, and a little of everything."""
    user = User.objects.create_user("fuzzer")
    user.user_permissions.add(Permission.objects.get(codename="trigger_install"))
    token = Token.objects.create(user=user)

    artifact = Artifact.objects.create(
        dependency_hash="ab" * 32,
        backend="venv",
        reference="/nowhere/abab",
        status=Artifact.Status.READY,
        locked_versions={"python": {"numpy": "1.26.4"}, "npm": {}},
    )
    skill = Skill.objects.create(
        id="acme/web-scraper",
        name="Web scraper",
        python_requirements=["numpy>=1.21"],
        npm_dependencies={"lodash": "^4.17.21"},
        active_artifact=artifact,
    )
    Skill.objects.create(
        id="acme/clash", python_requirements=["numpy==1.21.0", "numpy==1.24.0"]
    )
    run = InstallRun.objects.create(
        skill=skill,
        trigger="cli",
        status="succeeded",
        artifact=artifact,
        dependency_hash=artifact.dependency_hash,
        locked_versions=artifact.locked_versions,
    )
    batch = Batch.objects.create(trigger="api", skill_ids=[skill.pk])
    conflict = Conflict.objects.create(
        ecosystem="python", package="numpy", kind="within_skill", message="m"
    )
    conflict.skills.add(skill)

    by_path = {
        "/api/auto-install/status/{skill_id}": {"skill_id": skill.pk},
        "/api/skills/{id}": {"id": skill.pk},
        "/api/runs/{id}": {"id": run.pk},
        "/api/runs/{id}/rollback": {"id": run.pk},
        "/api/batches/{id}": {"id": batch.pk},
        "/api/conflicts/{id}": {"id": conflict.pk},
    }
    return {"Authorization": f"Token {token.key}"}, by_path


def exercise(strategy, auth, statuses, examples):
    """Send ``examples`` requests drawn from ``strategy``; fail on any 5xx."""

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case):
        response = case.call(headers=auth)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])

    send()


@pytest.mark.slow
def test_no_request_from_the_schema_gets_a_server_error(wsgi_app, real_data):
    auth, real_ids = real_data
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    statuses = Counter()
    no_negative = []
    started = time.monotonic()

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        exercise(operation.as_strategy(), auth, statuses, EXAMPLES)
        try:
            strategy = operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)
            exercise(strategy, auth, statuses, EXAMPLES)
        except Unsatisfiable:
            # Nothing of the operation's input can break the schema: every
            # parameter is free text.
            no_negative.append(operation.label)
        # Random ids rarely exist; the same bodies against real rows reach
        # the code past the lookup.
        if operation.path in real_ids:
            strategy = operation.as_strategy(path_parameters=real_ids[operation.path])
            exercise(strategy, auth, statuses, REAL_ID_EXAMPLES)

    print(
        f"schemathesis: {len(operations)} operations, {sum(statuses.values())} "
        f"requests in {time.monotonic() - started:.0f}s, by status: "
        f"{dict(sorted(statuses.items()))}; no negative cases for {no_negative}"
    )
    assert len(operations) == 16
    assert not [code for code in statuses if code >= 500]
    # The real rows were reached, not only turned away.
    assert statuses[200] > 0 and statuses[202] + statuses[409] > 0
