"""The resource endpoints: skills, runs (and their rollback), batches and
conflicts, with their filters and pagination."""

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from installs import selectors
from installs.models import Artifact, Batch, Conflict, InstallRun, Skill
from tests.api.helpers import assert_error

BAD_ID_HINT = (
    "is not valid: use 'name' or 'owner/name' with lowercase letters, digits, "
    "'.', '_' and '-' (no '..')."
)


def ids(response):
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def make_artifact(digest="ab", **fields):
    return Artifact.objects.create(
        dependency_hash=digest * 32,
        backend="venv",
        reference=f"/nowhere/{digest}",
        status=Artifact.Status.READY,
        **fields,
    )


def make_run(skill, status="succeeded", **fields):
    return InstallRun.objects.create(
        skill=skill, trigger=fields.pop("trigger", "cli"), status=status, **fields
    )


# --- skills ----------------------------------------------------------------


def test_skill_detail_works_with_a_slash_in_the_id(operator_client, make_skill):
    make_skill(
        "acme/web-scraper",
        python=["requests>=2.31"],
        npm={"lodash": "^4.17.21"},
        version="1.2.0",
    )

    response = operator_client.get("/api/skills/acme/web-scraper")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "acme/web-scraper"
    assert body["url"] == "http://testserver/api/skills/acme/web-scraper"
    assert body["python"] == ["requests>=2.31"]
    assert body["npm"] == {"lodash": "^4.17.21"}
    assert (body["state"], body["active_artifact"]) == ("never installed", None)
    assert (body["last_runs"], body["conflicts"]) == ([], [])


def test_skill_detail_lists_recent_runs_newest_first(operator_client, make_skill):
    skill = make_skill("acme/a")
    older = make_run(skill, status="failed", error="boom", error_code="build_failed")
    newer = make_run(skill, status="queued")

    body = operator_client.get("/api/skills/acme/a").json()

    assert [run["id"] for run in body["last_runs"]] == [newer.pk, older.pk]
    assert body["state"] == "building"


def test_skill_detail_of_an_unknown_skill_is_a_404(operator_client, db):
    response = operator_client.get("/api/skills/acme/ghost")

    assert_error(response, 404, "not_found", "Skill 'acme/ghost' does not exist.")


def test_skill_detail_of_a_malformed_id_is_a_400(operator_client, db):
    response = operator_client.get("/api/skills/a/b/c")

    text = f"Skill id 'a/b/c' {BAD_ID_HINT}"
    assert_error(response, 400, "invalid", f"Invalid id: {text}", {"id": [text]})


def test_skills_list_is_paginated_and_searchable(operator_client, make_skill):
    make_skill("acme/scraper", name="Web scraper")
    make_skill("acme/pdf", name="PDF reader")
    make_skill("tools/web", name="Browser")

    everything = operator_client.get("/api/skills/").json()
    by_text = operator_client.get("/api/skills/?q=WEB")

    assert everything["count"] == 3
    assert everything["next"] is None
    assert [s["id"] for s in everything["results"]] == [
        "acme/pdf",
        "acme/scraper",
        "tools/web",
    ]
    assert ids(by_text) == ["acme/scraper", "tools/web"]


@pytest.fixture
def skills_in_every_state(make_skill):
    artifact = make_artifact()
    make_skill("never")
    make_skill("installed", active_artifact=artifact)
    make_run(make_skill("succeeded", active_artifact=artifact), status="succeeded")
    make_run(make_skill("building"), status="building")
    make_run(make_skill("queued"), status="queued")
    make_run(make_skill("blocked"), status="blocked")
    make_run(make_skill("failed"), status="failed")
    make_run(make_skill("stale", active_artifact=artifact), status="stale")
    make_run(make_skill("rolled-back", active_artifact=artifact), status="rolled_back")
    make_run(make_skill("succeeded-gone"), status="succeeded")


@pytest.mark.parametrize("state", selectors.SKILL_STATES)
def test_state_filter_agrees_with_the_state_shown(
    operator_client, skills_in_every_state, state
):
    response = operator_client.get("/api/skills/", {"state": state})

    expected = sorted(
        skill.pk
        for skill in Skill.objects.all()
        if selectors.skill_state(skill) == state
    )
    assert expected
    assert ids(response) == expected
    assert {item["state"] for item in response.json()["results"]} == {state}


def test_an_unknown_state_is_a_400(operator_client, db):
    response = operator_client.get("/api/skills/?state=sleeping")

    assert_error(
        response,
        400,
        "invalid",
        'Invalid state: "sleeping" is not a valid choice.',
        {"state": ['"sleeping" is not a valid choice.']},
    )


def test_create_a_skill_from_a_manifest_object(operator_client, db):
    skill = {
        "id": "acme/new",
        "name": "New",
        "version": "0.1.0",
        "python": ["requests>=2.31"],
        "npm": {"lodash": "^4.17.21"},
    }

    response = operator_client.post("/api/skills/", skill, format="json")

    assert response.status_code == 201
    assert response["Location"] == "http://testserver/api/skills/acme/new"
    body = response.json()
    assert (body["id"], body["name"], body["version"]) == ("acme/new", "New", "0.1.0")
    stored = Skill.objects.get(pk="acme/new")
    assert stored.python_requirements == ["requests>=2.31"]
    assert stored.npm_dependencies == {"lodash": "^4.17.21"}
    assert stored.source == "api:operator"


def test_create_refuses_an_id_that_is_taken(operator_client, make_skill):
    make_skill("acme/a", name="Old")

    response = operator_client.post(
        "/api/skills/", {"id": "acme/a", "name": "New"}, format="json"
    )

    assert_error(
        response,
        409,
        "already_exists",
        "Skill 'acme/a' already exists; change it with PUT or PATCH on "
        "/api/skills/acme/a.",
    )
    assert Skill.objects.get(pk="acme/a").name == "Old"


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"name": "no id"},
            "Skill id None is not valid: it must be a non-empty string.",
        ),
        ({"id": "Acme/X"}, f"Skill id 'Acme/X' {BAD_ID_HINT}"),
        (
            {"id": "acme/a", "python": "numpy"},
            "Skill 'acme/a': Python requirements must be a list of strings, got str.",
        ),
        (
            {"id": "acme/a", "python": ["numpy", "--index-url=https://evil"]},
            (
                "Skill 'acme/a': invalid Python requirement "
                "'--index-url=https://evil': pip options are not allowed."
            ),
        ),
        (
            {"id": "acme/a", "name": 5},
            "Skill 'acme/a': 'name' must be a string of at most 200 characters.",
        ),
        (
            {"id": "acme/a", "npm": {"lodash": "file:../x"}},
            (
                "Skill 'acme/a': invalid npm dependency 'lodash@file:../x': local "
                "file dependencies are not allowed."
            ),
        ),
        (
            {"id": "acme/a", "npm": {"Lodash": "^4"}},
            (
                "Skill 'acme/a': invalid npm dependency 'Lodash@^4': the package "
                "name cannot contain uppercase letters."
            ),
        ),
        (["acme/a"], "A skill entry must be a JSON object, not list."),
    ],
)
def test_create_refuses_a_bad_manifest_and_stores_nothing(
    operator_client, db, body, message
):
    response = operator_client.post("/api/skills/", body, format="json")

    assert_error(response, 400, "invalid_manifest", message)
    assert Skill.objects.count() == 0


def test_put_replaces_what_a_skill_declares(operator_client, make_skill):
    make_skill("acme/a", python=["numpy"], npm={"lodash": "^4"}, version="1")

    response = operator_client.put(
        "/api/skills/acme/a", {"python": ["pandas>=2"]}, format="json"
    )

    assert response.status_code == 200
    skill = Skill.objects.get(pk="acme/a")
    assert skill.python_requirements == ["pandas>=2"]
    assert skill.npm_dependencies == {}
    assert (skill.name, skill.version) == ("acme/a", "")
    assert response.json()["python"] == ["pandas>=2"]


def test_patch_changes_only_the_fields_given(operator_client, make_skill):
    make_skill("acme/a", python=["numpy"], npm={"lodash": "^4"}, version="1")

    response = operator_client.patch(
        "/api/skills/acme/a", {"id": "acme/a", "version": "2"}, format="json"
    )

    assert response.status_code == 200
    skill = Skill.objects.get(pk="acme/a")
    assert skill.version == "2"
    assert skill.python_requirements == ["numpy"]
    assert skill.npm_dependencies == {"lodash": "^4"}
    assert skill.source == "api:operator"


def test_the_id_of_a_skill_cannot_change(operator_client, make_skill):
    make_skill("acme/a")

    response = operator_client.patch(
        "/api/skills/acme/a", {"id": "acme/b"}, format="json"
    )

    text = "The id of skill 'acme/a' cannot change (got 'acme/b')."
    assert_error(response, 400, "invalid", f"Invalid id: {text}", {"id": [text]})
    assert not Skill.objects.filter(pk="acme/b").exists()


def test_update_refuses_a_bad_spec_and_keeps_the_skill(operator_client, make_skill):
    make_skill("acme/a", python=["numpy"])

    response = operator_client.patch(
        "/api/skills/acme/a", {"python": ["numpy>="]}, format="json"
    )

    assert_error(
        response,
        400,
        "invalid_manifest",
        "Skill 'acme/a': invalid Python requirement 'numpy>=': missing version "
        "after '>='.",
    )
    assert Skill.objects.get(pk="acme/a").python_requirements == ["numpy"]


def test_update_needs_a_json_object(operator_client, make_skill):
    make_skill("acme/a")

    response = operator_client.patch("/api/skills/acme/a", ["x"], format="json")

    assert_error(
        response,
        400,
        "invalid_manifest",
        "A skill entry must be a JSON object, not list.",
    )


def test_update_of_an_unknown_skill_is_a_404(operator_client, db):
    response = operator_client.put("/api/skills/acme/ghost", {}, format="json")

    assert_error(response, 404, "not_found", "Skill 'acme/ghost' does not exist.")
    assert Skill.objects.count() == 0


# --- runs ------------------------------------------------------------------


def test_run_detail_has_log_locks_timings_and_who(
    operator, operator_client, make_skill
):
    artifact = make_artifact(locked_versions={"python": {"numpy": "1.26.4"}})
    skill = make_skill("acme/a")
    started = timezone.now()
    run = make_run(
        skill,
        trigger="api",
        requested_by=operator,
        artifact=artifact,
        dependency_hash=artifact.dependency_hash,
        python_requirements=["numpy"],
        python_lock="numpy==1.26.4 --hash=sha256:00",
        locked_versions={"python": {"numpy": "1.26.4"}, "npm": {}},
        log="12:00:00.000 run succeeded\n",
        started_at=started,
        finished_at=started + timezone.timedelta(seconds=2.5),
    )

    response = operator_client.get(f"/api/runs/{run.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["requested_by"] == "operator"
    assert body["trigger"] == "api"
    assert body["log"] == "12:00:00.000 run succeeded\n"
    assert body["python_lock"] == "numpy==1.26.4 --hash=sha256:00"
    assert body["locked_versions"] == {"python": {"numpy": "1.26.4"}, "npm": {}}
    assert body["duration_seconds"] == 2.5
    assert body["artifact"]["dependency_hash"] == artifact.dependency_hash
    assert (body["cache_hit"], body["error"], body["error_code"]) == (False, "", "")
    assert (body["conflicts"], body["findings"]) == ([], [])


def test_run_of_an_unknown_id_is_a_404(operator_client, db):
    response = operator_client.get("/api/runs/424242")

    assert_error(response, 404, "not_found", "Run 424242 does not exist.")


def test_runs_filter_by_skill_status_and_batch(operator_client, make_skill):
    a, b = make_skill("acme/a"), make_skill("acme/b")
    batch = Batch.objects.create(trigger="api", skill_ids=["acme/a"])
    in_batch = make_run(a, status="queued", batch=batch)
    failed = make_run(a, status="failed")
    other = make_run(b, status="failed")

    assert ids(operator_client.get("/api/runs/")) == [other.pk, failed.pk, in_batch.pk]
    assert ids(operator_client.get("/api/runs/?skill=acme/a")) == [
        failed.pk,
        in_batch.pk,
    ]
    assert ids(operator_client.get("/api/runs/?status=failed")) == [other.pk, failed.pk]
    assert ids(operator_client.get(f"/api/runs/?batch={batch.pk}")) == [in_batch.pk]
    assert ids(operator_client.get("/api/runs/?skill=acme/a&status=failed")) == [
        failed.pk
    ]


@pytest.mark.parametrize(
    "query, field, text",
    [
        ("status=lost", "status", '"lost" is not a valid choice.'),
        ("batch=x", "batch", "A valid integer is required."),
        ("batch=0", "batch", "Ensure this value is greater than or equal to 1."),
        ("skill=A/B", "skill", f"Skill id 'A/B' {BAD_ID_HINT}"),
    ],
)
def test_bad_run_filters_are_400(operator_client, db, query, field, text):
    response = operator_client.get(f"/api/runs/?{query}")

    assert_error(response, 400, "invalid", f"Invalid {field}: {text}", {field: [text]})


# --- rollback --------------------------------------------------------------


@pytest.fixture
def two_good_runs(make_skill):
    """A skill on its second environment; the first one was pruned from disk."""
    first, second = make_artifact("aa"), make_artifact("bb")
    skill = make_skill("acme/a", active_artifact=second)
    old = make_run(skill, artifact=first, dependency_hash=first.dependency_hash)
    make_run(skill, artifact=second, dependency_hash=second.dependency_hash)
    return old


def test_rollback_to_a_pruned_environment_queues_a_rebuild(
    operator_client, two_good_runs
):
    response = operator_client.post(f"/api/runs/{two_good_runs.pk}/rollback")

    assert response.status_code == 202
    body = response.json()
    run = InstallRun.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver/api/runs/{run.pk}"
    assert (run.kind, run.status, run.trigger) == ("rollback", "queued", "api")
    assert run.rollback_to == two_good_runs
    assert run.requested_by.username == "operator"
    assert OrmQ.objects.count() == 1


def test_rollback_to_a_run_that_did_not_succeed_is_a_409(operator_client, make_skill):
    failed = make_run(make_skill("acme/a"), status="failed")

    response = operator_client.post(f"/api/runs/{failed.pk}/rollback")

    assert_error(
        response,
        409,
        "no_rollback_target",
        f"Run {failed.pk} is not a successful run of skill 'acme/a', so the skill "
        "cannot be rolled back to it.",
    )


def test_rollback_while_the_skill_is_installed_is_a_409(operator_client, two_good_runs):
    first = operator_client.post(f"/api/runs/{two_good_runs.pk}/rollback").json()

    response = operator_client.post(f"/api/runs/{two_good_runs.pk}/rollback")

    assert_error(
        response,
        409,
        "busy",
        f"Skill 'acme/a' is being installed by run {first['id']}; roll back once "
        "it has finished.",
    )


def test_rollback_of_an_unknown_run_is_a_404(operator_client, db):
    response = operator_client.post("/api/runs/424242/rollback")

    assert_error(response, 404, "not_found", "Run 424242 does not exist.")


# --- batches and conflicts -------------------------------------------------


def test_batch_detail_and_list(operator_client, make_skill):
    make_skill("acme/a")
    created = operator_client.post(
        "/api/auto-install/batch", {"skill_ids": ["acme/a"]}, format="json"
    ).json()

    detail = operator_client.get(f"/api/batches/{created['id']}")

    assert detail.status_code == 200
    assert detail.json() == created
    assert ids(operator_client.get("/api/batches/")) == [created["id"]]


def test_batch_of_an_unknown_id_is_a_404(operator_client, db):
    response = operator_client.get("/api/batches/424242")

    assert_error(response, 404, "not_found", "Batch 424242 does not exist.")


@pytest.fixture
def conflicts(make_skill):
    a, b = make_skill("acme/a"), make_skill("acme/b")

    def conflict(ecosystem, package, kind, *skills):
        row = Conflict.objects.create(
            ecosystem=ecosystem, package=package, kind=kind, message="m"
        )
        row.skills.set(skills)
        return row

    return [
        conflict("python", "numpy", "within_skill", a),
        conflict("python", "numpy", "across_batch", a, b),
        conflict("npm", "lodash", "platform", b),
    ]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", [2, 1, 0]),
        ("ecosystem=python", [1, 0]),
        ("package=NumPy", [1, 0]),
        ("kind=platform", [2]),
        ("skill=acme/b", [2, 1]),
        ("skill=acme/a&kind=within_skill", [0]),
    ],
)
def test_conflicts_filter(operator_client, conflicts, query, expected):
    response = operator_client.get(f"/api/conflicts/?{query}")

    assert ids(response) == [conflicts[index].pk for index in expected]


def test_conflict_detail(operator_client, conflicts):
    response = operator_client.get(f"/api/conflicts/{conflicts[1].pk}")

    assert response.status_code == 200
    assert response.json()["skills"] == ["acme/a", "acme/b"]


def test_bad_conflict_filter_is_a_400(operator_client, db):
    response = operator_client.get("/api/conflicts/?kind=bad")

    assert_error(response, 400, "invalid", 'Invalid kind: "bad" is not a valid choice.')
