"""The auto-install endpoints: install, batch, status and the dry-run check."""

import json

import pytest
from django_q.models import OrmQ

from installs.models import Artifact, Batch, Conflict, InstallRun
from tests.api.helpers import assert_error

INSTALL = "/api/auto-install/install"
BATCH = "/api/auto-install/batch"
CHECK = "/api/auto-install/check"
BAD_ID_HINT = (
    "is not valid: use 'name' or 'owner/name' with lowercase letters, digits, "
    "'.', '_' and '-' (no '..')."
)
NUMPY_CLASH = (
    "Python package 'numpy': no version satisfies all of 'numpy==1.21.0' "
    "(skill '{a}'), 'numpy==1.24.0' (skill '{b}'). {hint}"
)
WITHIN_HINT = "Fix the skill's manifest so that its specs on this package agree."
ACROSS_HINT = (
    "Install these skills in isolated mode, or align their specs on this package."
)


def post(client, url, body):
    return client.post(url, body, format="json")


# --- install ---------------------------------------------------------------


def test_install_queues_a_run_and_says_where_to_poll(operator_client, make_skill):
    make_skill("acme/a", python=["numpy>=1.21"])

    response = post(operator_client, INSTALL, {"skill_id": "acme/a"})

    assert response.status_code == 202
    body = response.json()
    run = InstallRun.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver/api/runs/{run.pk}"
    assert body["url"] == response["Location"]
    assert (body["skill_id"], body["status"], body["trigger"]) == (
        "acme/a",
        "queued",
        "api",
    )
    assert body["requested_by"] == "operator"
    assert run.requested_by.username == "operator"
    # Queued for a worker through the ORM broker; none runs in the tests.
    assert OrmQ.objects.count() == 1

    polled = operator_client.get(response["Location"])
    assert polled.status_code == 200
    assert polled.json()["status"] == "queued"


def test_a_second_install_in_flight_returns_the_same_run(operator_client, make_skill):
    make_skill("acme/a", python=["numpy>=1.21"])
    first = post(operator_client, INSTALL, {"skill_id": "acme/a"})

    second = post(operator_client, INSTALL, {"skill_id": "acme/a", "force": True})

    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert second["Location"] == first["Location"]
    assert InstallRun.objects.count() == 1
    assert OrmQ.objects.count() == 1


def test_clashing_specs_block_the_run_with_a_409(operator_client, make_skill):
    make_skill("acme/clash", python=["numpy==1.21.0", "numpy==1.24.0"])

    response = post(operator_client, INSTALL, {"skill_id": "acme/clash"})

    message = NUMPY_CLASH.format(a="acme/clash", b="acme/clash", hint=WITHIN_HINT)
    run = InstallRun.objects.get()
    body = assert_error(
        response,
        409,
        "conflict",
        message,
        details={"skill_id": "acme/clash", "run": run.pk},
    )
    (conflict,) = body["conflicts"]
    assert conflict["specs"] == [
        {"spec": "numpy==1.21.0", "source": "acme/clash"},
        {"spec": "numpy==1.24.0", "source": "acme/clash"},
    ]
    assert (conflict["package"], conflict["kind"]) == ("numpy", "within_skill")
    assert conflict["skills"] == ["acme/clash"]
    assert body["run"]["status"] == "blocked"
    assert response["Location"] == f"http://testserver/api/runs/{run.pk}"
    # Blocked before anything was queued.
    assert OrmQ.objects.count() == 0


def test_install_of_an_unknown_skill_is_a_404(operator_client, db):
    response = post(operator_client, INSTALL, {"skill_id": "acme/ghost"})

    assert_error(response, 404, "not_found", "Skill 'acme/ghost' does not exist.")
    assert InstallRun.objects.count() == 0


@pytest.mark.parametrize(
    "body, details",
    [
        ({"skill_id": "Acme/X"}, {"skill_id": [f"Skill id 'Acme/X' {BAD_ID_HINT}"]}),
        ({"skill_id": "a/b/c"}, {"skill_id": [f"Skill id 'a/b/c' {BAD_ID_HINT}"]}),
        ({"skill_id": "a", "force": "maybe"}, {"force": ["Must be a valid boolean."]}),
        ({"skill_id": ["a"]}, {"skill_id": ["Not a valid string."]}),
    ],
)
def test_install_input_errors_name_the_field(operator_client, db, body, details):
    response = post(operator_client, INSTALL, body)

    ((field, (text,)),) = details.items()
    assert_error(response, 400, "invalid", f"Invalid {field}: {text}", details)


# --- status ----------------------------------------------------------------


def test_status_of_a_skill_never_installed(operator_client, make_skill):
    make_skill("acme/a")

    response = operator_client.get("/api/auto-install/status/acme/a")

    assert response.status_code == 200
    assert response.json() == {
        "skill_id": "acme/a",
        "state": "never installed",
        "active_artifact": None,
        "last_run": None,
        "conflicts": [],
    }


def test_status_shows_the_environment_and_the_last_run(operator_client, make_skill):
    artifact = Artifact.objects.create(
        dependency_hash="ab" * 32,
        backend="venv",
        reference="/var/envs/abab",
        status=Artifact.Status.READY,
        size_bytes=1234,
        locked_versions={"python": {"numpy": "1.26.4"}, "npm": {}},
    )
    skill = make_skill("solo", active_artifact=artifact)
    run = InstallRun.objects.create(
        skill=skill, trigger="cli", status="succeeded", artifact=artifact
    )

    response = operator_client.get("/api/auto-install/status/solo")

    body = response.json()
    assert body["state"] == "installed"
    assert body["active_artifact"] == {
        "dependency_hash": "ab" * 32,
        "backend": "venv",
        "reference": "/var/envs/abab",
        "size_bytes": 1234,
        "locked_versions": {"python": {"numpy": "1.26.4"}, "npm": {}},
    }
    assert body["last_run"]["id"] == run.pk
    assert body["last_run"]["url"] == f"http://testserver/api/runs/{run.pk}"


def test_status_of_a_blocked_skill_lists_its_conflicts(operator_client, make_skill):
    make_skill("acme/clash", python=["numpy==1.21.0", "numpy==1.24.0"])
    post(operator_client, INSTALL, {"skill_id": "acme/clash"})

    body = operator_client.get("/api/auto-install/status/acme/clash").json()

    assert body["state"] == "blocked"
    assert body["last_run"]["error_code"] == "conflict"
    assert [c["package"] for c in body["conflicts"]] == ["numpy"]


def test_status_of_an_unknown_skill_is_a_404(operator_client, db):
    response = operator_client.get("/api/auto-install/status/acme/ghost")

    assert_error(response, 404, "not_found", "Skill 'acme/ghost' does not exist.")


@pytest.mark.parametrize("skill_id", ["a/b/c", "Acme/x", "a..b"])
def test_status_of_a_malformed_id_is_a_400(operator_client, db, skill_id):
    response = operator_client.get(f"/api/auto-install/status/{skill_id}")

    text = f"Skill id '{skill_id}' {BAD_ID_HINT}"
    assert_error(
        response, 400, "invalid", f"Invalid skill_id: {text}", {"skill_id": [text]}
    )


# --- check -----------------------------------------------------------------


def counts():
    return Conflict.objects.count(), InstallRun.objects.count(), Batch.objects.count()


def test_check_of_a_manifest_finds_conflicts_and_stores_nothing(operator_client, db):
    before = counts()
    manifest = {
        "skills": [
            {"id": "acme/a", "python": ["numpy==1.21.0"]},
            {"id": "acme/b", "python": ["numpy==1.24.0"]},
        ]
    }

    response = post(operator_client, CHECK, {"manifest": manifest, "shared": True})

    assert response.status_code == 200
    message = NUMPY_CLASH.format(a="acme/a", b="acme/b", hint=ACROSS_HINT)
    assert response.json() == {
        "conflicts": [
            {
                "ecosystem": "python",
                "package": "numpy",
                "kind": "across_batch",
                "specs": [
                    {"spec": "numpy==1.21.0", "source": "acme/a"},
                    {"spec": "numpy==1.24.0", "source": "acme/b"},
                ],
                "message": message,
            }
        ],
        "checked": 2,
        "ok": False,
    }
    assert counts() == before


def test_check_finds_npm_conflicts_too(operator_client, db):
    manifest = {"id": "acme/ui", "npm": ["lodash@^4.17.0", "lodash@<4"]}

    response = post(operator_client, CHECK, {"manifest": manifest})

    (conflict,) = response.json()["conflicts"]
    assert conflict == {
        "ecosystem": "npm",
        "package": "lodash",
        "kind": "within_skill",
        "specs": [
            {"spec": "lodash@^4.17.0", "source": "acme/ui"},
            {"spec": "lodash@<4", "source": "acme/ui"},
        ],
        "message": "npm package 'lodash': no version satisfies all of "
        "'lodash@^4.17.0' (skill 'acme/ui'), 'lodash@<4' (skill 'acme/ui'). "
        + WITHIN_HINT,
    }


def test_check_without_shared_checks_each_skill_alone(operator_client, db):
    manifest = [
        {"id": "acme/a", "python": ["numpy==1.21.0"]},
        {"id": "acme/b", "python": ["numpy==1.24.0"]},
    ]

    response = post(operator_client, CHECK, {"manifest": manifest})

    assert response.json() == {"conflicts": [], "checked": 2, "ok": True}


def test_check_of_stored_skills_stores_nothing(operator_client, make_skill):
    make_skill("acme/a", python=["numpy==1.21.0"])
    make_skill("acme/b", python=["numpy==1.24.0"])
    before = counts()

    response = post(
        operator_client, CHECK, {"skill_ids": ["acme/a", "acme/b"], "shared": True}
    )

    body = response.json()
    assert (body["checked"], body["ok"]) == (2, False)
    assert body["conflicts"][0]["kind"] == "across_batch"
    assert counts() == before


def test_check_against_an_installed_skill_uses_its_resolved_versions(
    operator_client, make_skill
):
    artifact = Artifact.objects.create(
        dependency_hash="cd" * 32,
        backend="venv",
        status=Artifact.Status.READY,
        locked_versions={"python": {"numpy": "1.26.4"}, "npm": {}},
    )
    make_skill("acme/host", python=["numpy"], active_artifact=artifact)
    manifest = {"id": "acme/guest", "python": ["numpy<1.25"]}

    response = post(
        operator_client, CHECK, {"manifest": manifest, "against": "acme/host"}
    )

    body = response.json()
    assert body["ok"] is False
    (conflict,) = body["conflicts"]
    assert conflict["kind"] == "environment"
    assert conflict["specs"] == [
        {"spec": "numpy<1.25", "source": "acme/guest"},
        {"spec": "numpy==1.26.4", "source": "installed: skill 'acme/host'"},
    ]


def test_check_against_a_skill_without_environment_is_a_400(
    operator_client, make_skill
):
    make_skill("acme/host")

    response = post(
        operator_client, CHECK, {"manifest": {"id": "x"}, "against": "acme/host"}
    )

    text = "Skill 'acme/host' has no installed environment to check against."
    assert_error(
        response, 400, "invalid", f"Invalid against: {text}", {"against": [text]}
    )


def test_check_against_an_unknown_skill_is_a_404(operator_client, db):
    response = post(
        operator_client, CHECK, {"manifest": {"id": "x"}, "against": "acme/ghost"}
    )

    assert_error(response, 404, "not_found", "Skill 'acme/ghost' does not exist.")


def test_check_of_unknown_skills_names_them(operator_client, make_skill):
    make_skill("acme/a")

    response = post(
        operator_client, CHECK, {"skill_ids": ["acme/a", "acme/x", "acme/y"]}
    )

    assert_error(
        response,
        404,
        "not_found",
        "Skills 'acme/x', 'acme/y' do not exist.",
        details={"missing": ["acme/x", "acme/y"]},
    )


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"manifest": {"id": "a"}, "skill_ids": ["a"]},
            "Give either 'manifest' or 'skill_ids', not both.",
        ),
        ({"shared": True}, "Give either 'manifest' or 'skill_ids', not neither."),
    ],
)
def test_check_needs_exactly_one_of_manifest_and_skill_ids(
    operator_client, db, body, message
):
    response = post(operator_client, CHECK, body)

    assert_error(
        response, 400, "invalid", message, details={"non_field_errors": [message]}
    )


def test_check_of_a_bad_manifest_names_each_rejected_entry(operator_client, db):
    manifest = [
        {"id": "acme/ok", "python": ["numpy"]},
        {"id": "Bad Id"},
        {"id": "acme/pins", "python": ["numpy>="]},
        {"id": "acme/url", "python": ["evil @ https://example.com/evil.whl"]},
    ]

    response = post(operator_client, CHECK, {"manifest": manifest})

    errors = [
        {"skill": "Bad Id", "error": f"Skill id 'Bad Id' {BAD_ID_HINT}"},
        {
            "skill": "acme/pins",
            "error": "Skill 'acme/pins': invalid Python requirement 'numpy>=': "
            "missing version after '>='.",
        },
        {
            "skill": "acme/url",
            "error": "Skill 'acme/url': invalid Python requirement "
            "'evil @ https://example.com/evil.whl': direct references "
            "('name @ ...') are not allowed.",
        },
    ]
    message = (
        "Manifest (request) was rejected, nothing was imported; 3 entries "
        "failed:\n" + "\n".join(f"  - {error['error']}" for error in errors)
    )
    assert_error(response, 400, "invalid_manifest", message, {"errors": errors})


def test_check_of_an_oversized_manifest_is_refused(operator_client, db, settings):
    settings.SKILLINSTALL_MAX_MANIFEST_BYTES = 100
    manifest = {"id": "acme/big", "python": ["numpy"] * 30}

    response = post(operator_client, CHECK, {"manifest": manifest})

    size = len(json.dumps(manifest))
    assert_error(
        response,
        400,
        "invalid_manifest",
        f"Manifest (request) is {size} bytes, over the limit of 100 bytes.",
    )


# --- batch -----------------------------------------------------------------


def test_isolated_batch_starts_a_run_per_skill(operator_client, make_skill):
    make_skill("acme/a", python=["numpy==1.21.0"])
    make_skill("acme/b", python=["numpy==1.24.0"])
    make_skill("acme/clash", python=["numpy==1.21.0", "numpy==1.24.0"])

    response = post(
        operator_client, BATCH, {"skill_ids": ["acme/a", "acme/b", "acme/clash"]}
    )

    assert response.status_code == 202
    body = response.json()
    batch = Batch.objects.get()
    assert response["Location"] == f"http://testserver/api/batches/{batch.pk}"
    assert (body["id"], body["mode"], body["trigger"]) == (batch.pk, "isolated", "api")
    outcomes = {outcome["skill_id"]: outcome for outcome in body["runs"]}
    assert [o["skill_id"] for o in body["runs"]] == ["acme/a", "acme/b", "acme/clash"]
    assert outcomes["acme/a"]["status"] == "queued"
    assert outcomes["acme/b"]["status"] == "queued"
    assert outcomes["acme/clash"]["status"] == "blocked"
    assert outcomes["acme/clash"]["error_code"] == "conflict"
    runs = InstallRun.objects.filter(batch=batch)
    assert {run.pk for run in runs} == {o["run"] for o in body["runs"]}
    assert {run.requested_by.username for run in runs} == {"operator"}
    assert OrmQ.objects.count() == 2


def test_shared_batch_with_clashing_skills_is_a_409_and_builds_nothing(
    operator_client, make_skill
):
    make_skill("acme/a", python=["numpy==1.21.0"])
    make_skill("acme/b", python=["numpy==1.24.0"])

    response = post(
        operator_client, BATCH, {"skill_ids": ["acme/a", "acme/b"], "mode": "shared"}
    )

    batch = Batch.objects.get()
    clash = NUMPY_CLASH.format(a="acme/a", b="acme/b", hint=ACROSS_HINT)
    message = (
        f"1 conflict(s) between the skills of the batch; nothing was built. {clash}"
    )
    body = assert_error(response, 409, "conflict", message, {"batch": batch.pk})
    (conflict,) = body["conflicts"]
    assert conflict["kind"] == "across_batch"
    assert conflict["skills"] == ["acme/a", "acme/b"]
    assert body["batch"]["mode"] == "shared"
    assert [o["status"] for o in body["batch"]["runs"]] == ["blocked", "blocked"]
    assert response["Location"] == f"http://testserver/api/batches/{batch.pk}"
    assert OrmQ.objects.count() == 0
    assert not InstallRun.objects.exclude(status="blocked").exists()


def test_batch_outcome_of_a_skill_already_in_flight_is_that_run(
    operator_client, make_skill
):
    make_skill("acme/a")
    make_skill("acme/b")
    first = post(operator_client, INSTALL, {"skill_id": "acme/a"}).json()

    body = post(operator_client, BATCH, {"skill_ids": ["acme/a", "acme/b"]}).json()

    outcome = body["runs"][0]
    assert outcome == {
        "skill_id": "acme/a",
        "run": first["id"],
        "status": "queued",
        "error": "",
        "error_code": "",
        "coalesced": True,
    }
    assert body["runs"][1]["coalesced"] is False


def test_batch_of_unknown_skills_names_them(operator_client, make_skill):
    make_skill("acme/a")

    response = post(operator_client, BATCH, {"skill_ids": ["acme/a", "acme/ghost"]})

    assert_error(
        response,
        404,
        "not_found",
        "Skill 'acme/ghost' does not exist.",
        details={"missing": ["acme/ghost"]},
    )
    assert Batch.objects.count() == 0


@pytest.mark.parametrize(
    "body, field, text",
    [
        ({"skill_ids": []}, "skill_ids", "This list may not be empty."),
        (
            {"skill_ids": "acme/a"},
            "skill_ids",
            'Expected a list of items but got type "str".',
        ),
        (
            {"skill_ids": ["acme/a", "Nope"]},
            "skill_ids[1]",
            f"Skill id 'Nope' {BAD_ID_HINT}",
        ),
        (
            {"skill_ids": ["acme/a"], "mode": "pooled"},
            "mode",
            '"pooled" is not a valid choice.',
        ),
    ],
)
def test_batch_input_errors_name_the_field(operator_client, db, body, field, text):
    response = post(operator_client, BATCH, body)

    assert_error(response, 400, "invalid", f"Invalid {field}: {text}")
