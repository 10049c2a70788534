"""The API over real builds: uv against a local wheel index, the queued run
worked through inline as a worker would."""

import pytest

from installs import services
from installs.models import InstallRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

INSTALL = "/api/auto-install/install"


@pytest.fixture
def index(python_index):
    python_index.add("alpha", "1.0")
    python_index.add("alpha", "2.0")
    return python_index


def install_and_build(client, skill_id):
    """Request an install through the API and work the queued run through."""
    response = client.post(INSTALL, {"skill_id": skill_id}, format="json")
    assert response.status_code == 202, response.json()
    run = services.execute_run(response.json()["id"])
    run.refresh_from_db()
    assert run.status == InstallRun.Status.SUCCEEDED, run.log
    return run


def test_a_repeat_install_is_a_cache_hit_answered_with_200(
    index, operator_client, make_skill
):
    make_skill("acme/a", python=["alpha==1.0"])
    built = install_and_build(operator_client, "acme/a")

    response = operator_client.post(INSTALL, {"skill_id": "acme/a"}, format="json")

    assert response.status_code == 200
    assert "Location" not in response
    body = response.json()
    assert body["id"] != built.pk
    assert (body["status"], body["cache_hit"]) == ("succeeded", True)
    assert body["dependency_hash"] == built.dependency_hash


def test_status_and_run_detail_after_a_build(index, operator_client, make_skill):
    make_skill("acme/a", python=["alpha==1.0"])
    run = install_and_build(operator_client, "acme/a")

    status = operator_client.get("/api/auto-install/status/acme/a").json()
    detail = operator_client.get(f"/api/runs/{run.pk}").json()

    assert status["state"] == "installed"
    artifact = status["active_artifact"]
    assert artifact["dependency_hash"] == run.dependency_hash
    assert artifact["locked_versions"]["python"] == {"alpha": "1.0"}
    assert artifact["size_bytes"] > 0
    assert status["last_run"]["id"] == run.pk
    assert detail["locked_versions"]["python"] == {"alpha": "1.0"}
    assert "alpha==1.0" in detail["python_lock"]
    assert "run succeeded" in detail["log"]
    assert detail["duration_seconds"] > 0
    assert detail["requested_by"] == "operator"


def test_rollback_to_an_environment_that_exists_is_immediate(
    index, operator_client, make_skill
):
    make_skill("acme/a", python=["alpha==1.0"])
    first = install_and_build(operator_client, "acme/a")
    operator_client.patch(
        "/api/skills/acme/a", {"python": ["alpha==2.0"]}, format="json"
    )
    install_and_build(operator_client, "acme/a")

    response = operator_client.post(f"/api/runs/{first.pk}/rollback")

    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["status"]) == ("rollback", "rolled_back")
    assert body["dependency_hash"] == first.dependency_hash
    status = operator_client.get("/api/auto-install/status/acme/a").json()
    assert status["active_artifact"]["locked_versions"]["python"] == {"alpha": "1.0"}
