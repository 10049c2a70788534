"""The install pipeline end to end, with real uv and npm against local indexes."""

import time
from pathlib import Path

import pytest
from django_q.models import OrmQ

from installs import services
from installs.models import Artifact, Conflict, InstallRun, Skill, Trigger

pytestmark = pytest.mark.django_db(transaction=True)

Status = InstallRun.Status


def set_requirements(skill_id, requirements):
    Skill.objects.filter(pk=skill_id).update(python_requirements=requirements)


def make_skill(skill_id, python=(), npm=None):
    return Skill.objects.create(
        id=skill_id,
        name=skill_id,
        python_requirements=list(python),
        npm_dependencies=npm or {},
    )


def install(skill_id, **kwargs):
    """Request an install and work it through here, as a worker would."""
    run = services.request_install(
        skill_id=skill_id,
        trigger=kwargs.pop("trigger", Trigger.CLI),
        enqueue=False,
        **kwargs,
    )
    if run.status == Status.QUEUED:
        run = services.execute_run(run.pk)
    run.refresh_from_db()
    return run


def partials(settings):
    return sorted(
        p.name for p in Path(settings.SKILLINSTALL_ARTIFACT_ROOT).glob("*.partial-*")
    )


@pytest.fixture
def index(python_index):
    python_index.add("alpha", "1.0", requires=["beta>=1"])
    python_index.add("alpha", "2.0", requires=["beta>=2"])
    python_index.add("beta", "1.0")
    python_index.add("beta", "2.0")
    python_index.add(
        "broken", "1.0", modules={"broken/__init__.py": "raise ImportError('boom')\n"}
    )
    return python_index


def test_install_resolves_builds_and_activates(index, settings):
    make_skill("acme/a", python=["alpha==1.0"])

    run = install("acme/a")

    assert run.status == Status.SUCCEEDED, run.log
    assert run.cache_hit is False
    assert run.locked_versions["python"] == {"alpha": "1.0", "beta": "2.0"}
    assert "--hash=sha256:" in run.python_lock
    skill = Skill.objects.get(pk="acme/a")
    assert skill.active_artifact == run.artifact
    assert skill.lock_owner == "" and skill.lock_run is None
    artifact = run.artifact
    assert artifact.status == Artifact.Status.READY
    assert (
        Path(artifact.reference)
        == Path(settings.SKILLINSTALL_ARTIFACT_ROOT) / artifact.dependency_hash
    )
    assert (Path(artifact.reference) / "bin" / "python").exists()
    assert artifact.size_bytes > 0
    assert partials(settings) == []
    assert "building environment" in run.log and "run succeeded" in run.log


def test_repeat_install_is_a_cache_hit_without_the_index(index, settings):
    make_skill("acme/a", python=["alpha==1.0"])
    first = install("acme/a")
    for wheel in index.directory.iterdir():
        wheel.unlink()

    again = services.request_install(
        skill_id="acme/a", trigger=Trigger.API, enqueue=False
    )

    assert again.status == Status.SUCCEEDED
    assert again.cache_hit is True
    assert again.artifact_id == first.artifact_id
    assert again.python_lock == first.python_lock
    assert OrmQ.objects.count() == 0


def test_skills_with_equal_locks_share_one_artifact(index):
    make_skill("a", python=["alpha==1.0"])
    make_skill("b", python=["alpha>=1,<2", "beta"])

    first, second = install("a"), install("b")

    assert first.artifact_id == second.artifact_id
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert Artifact.objects.count() == 1


def test_failed_build_leaves_nothing_and_keeps_the_previous_environment(
    index, settings
):
    skill = make_skill("acme/a", python=["alpha==1.0"])
    good = install("acme/a")
    set_requirements("acme/a", ["alpha==1.0", "broken"])

    run = install("acme/a")

    assert run.status == Status.FAILED
    assert run.error_code == "build_failed"
    assert "broken" in run.error
    assert partials(settings) == []
    assert not Path(settings.SKILLINSTALL_ARTIFACT_ROOT, run.dependency_hash).exists()
    skill.refresh_from_db()
    assert skill.active_artifact_id == good.artifact_id
    assert skill.lock_owner == ""
    assert Artifact.objects.get(dependency_hash=run.dependency_hash).status == "failed"


def test_unknown_package_fails_with_a_clear_error(index):
    make_skill("a", python=["nosuchpkg>=1"])

    run = install("a")

    assert run.status == Status.FAILED
    assert run.error_code == "package_not_found"
    assert "nosuchpkg" in run.error
    assert "Traceback" not in run.log


def test_transitive_conflict_blocks_the_run_with_the_resolvers_explanation(
    python_index,
):
    python_index.add("left", "1.0", requires=["shared<2"])
    python_index.add("right", "1.0", requires=["shared>=2"])
    python_index.add("shared", "1.0")
    python_index.add("shared", "2.0")
    make_skill("a", python=["left", "right"])

    run = install("a")

    assert run.status == Status.BLOCKED
    conflict = Conflict.objects.get(run=run)
    assert conflict.kind == "transitive"
    assert {"left", "right", "shared"} <= set(conflict.package.split(", "))
    assert conflict.explanation
    assert list(conflict.skills.values_list("pk", flat=True)) == ["a"]


def test_direct_conflict_blocks_before_anything_is_queued(settings):
    make_skill("a", python=["numpy==1.21.0", "numpy==1.24.0"])

    run = services.request_install(skill_id="a", trigger=Trigger.API)

    assert run.status == Status.BLOCKED
    assert run.error_code == "conflict"
    assert run.error.startswith("Python package 'numpy': no version satisfies all of")
    assert Conflict.objects.get(run=run).kind == "within_skill"
    assert OrmQ.objects.count() == 0
    assert Skill.objects.get(pk="a").lock_owner == ""


def test_a_second_request_gets_the_run_in_flight():
    make_skill("a", python=["alpha"])

    first = services.request_install(skill_id="a", trigger=Trigger.API)
    second = services.request_install(skill_id="a", trigger=Trigger.ADMIN)

    assert second.pk == first.pk
    assert InstallRun.objects.count() == 1
    assert OrmQ.objects.count() == 1


def test_an_expired_claim_is_taken_over_and_its_partial_removed(settings):
    make_skill("a", python=["alpha"])
    stalled = services.request_install(skill_id="a", trigger=Trigger.API, enqueue=False)
    InstallRun.objects.filter(pk=stalled.pk).update(
        status=Status.BUILDING, dependency_hash="f" * 64
    )
    partial = (
        Path(settings.SKILLINSTALL_ARTIFACT_ROOT) / f"{'f' * 64}.partial-{stalled.pk}"
    )
    (partial / "bin").mkdir(parents=True)
    Skill.objects.filter(pk="a").update(lock_expires_at="2000-01-01T00:00:00Z")

    fresh = services.request_install(skill_id="a", trigger=Trigger.API, enqueue=False)

    assert fresh.pk != stalled.pk
    stalled.refresh_from_db()
    assert stalled.status == Status.STALE
    assert "stopped renewing its claim" in stalled.error
    assert not partial.exists()
    assert Skill.objects.get(pk="a").lock_run_id == fresh.pk


def test_rollback_reactivates_the_earlier_environment_and_rebuilds_it_if_pruned(index):
    make_skill("a", python=["alpha==1.0"])
    v1 = install("a")
    set_requirements("a", ["alpha==2.0"])
    v2 = install("a")
    assert v2.artifact_id != v1.artifact_id

    back = services.rollback_skill(skill_id="a", trigger=Trigger.CLI, enqueue=False)

    assert back.status == Status.ROLLED_BACK
    assert back.rollback_to_id == v1.pk
    assert Skill.objects.get(pk="a").active_artifact_id == v1.artifact_id

    # Now v2's environment is unused: prune it, then roll back to it.
    pruned = services.prune_artifacts()
    assert [a.pk for a in pruned.removed] == [v2.artifact_id]
    assert not Path(v2.artifact.reference).exists()
    again = services.rollback_skill(
        skill_id="a", to_run=v2, trigger=Trigger.CLI, enqueue=False
    )
    assert again.status == Status.QUEUED
    again = services.execute_run(again.pk)

    assert again.status == Status.ROLLED_BACK, again.log
    assert Skill.objects.get(pk="a").active_artifact_id == v2.artifact_id
    assert Path(v2.artifact.reference).exists()


def test_rollback_without_an_earlier_environment(index):
    make_skill("a", python=["alpha==1.0"])
    install("a")

    with pytest.raises(Exception) as excinfo:
        services.rollback_skill(skill_id="a", trigger=Trigger.CLI)

    assert excinfo.value.code == "no_rollback_target"
    assert excinfo.value.message == (
        "Skill 'a' has no earlier successful environment to roll back to."
    )
    assert InstallRun.objects.filter(kind="rollback").count() == 0


def test_prune_keeps_what_is_in_use_and_the_newest(index):
    make_skill("a", python=["alpha==1.0"])
    runs = []
    for requirements in (["beta==1.0"], ["beta==2.0"], ["alpha==2.0"], ["alpha==1.0"]):
        set_requirements("a", requirements)
        runs.append(install("a"))

    result = services.prune_artifacts(keep_last=1)

    assert [a.pk for a in result.removed] == [runs[0].artifact_id, runs[1].artifact_id]
    assert Skill.objects.get(pk="a").active_artifact_id == runs[3].artifact_id
    statuses = dict(Artifact.objects.values_list("pk", "status"))
    assert statuses[runs[2].artifact_id] == statuses[runs[3].artifact_id] == "ready"
    assert not Path(runs[0].artifact.reference).exists()
    assert Path(runs[3].artifact.reference).exists()


def test_prune_to_a_size_removes_least_recently_used_first(index):
    make_skill("a", python=["beta==1.0"])
    runs = []
    for requirements in (["beta==1.0"], ["beta==2.0"], ["alpha==1.0"]):
        set_requirements("a", requirements)
        runs.append(install("a"))
    sizes = dict(Artifact.objects.values_list("pk", "size_bytes"))
    budget = sizes[runs[1].artifact_id] + sizes[runs[2].artifact_id]

    result = services.prune_artifacts(max_bytes=budget)

    assert [a.pk for a in result.removed] == [runs[0].artifact_id]
    assert result.freed_bytes == sizes[runs[0].artifact_id]
    assert services.prune_artifacts(max_bytes=0).removed[0].pk == runs[1].artifact_id
    assert Artifact.objects.get(pk=runs[2].artifact_id).status == "ready"


def test_shared_batch_builds_one_environment_for_all(index):
    make_skill("a", python=["alpha"])
    make_skill("b", python=["beta<2"])

    batch = services.request_batch(
        skill_ids=["a", "b"], mode="shared", trigger=Trigger.API
    )
    runs = [services.execute_run(run.pk) for run in batch.runs.order_by("pk")]

    assert [run.status for run in runs] == [Status.SUCCEEDED, Status.SUCCEEDED]
    assert runs[0].artifact_id == runs[1].artifact_id
    assert runs[0].locked_versions["python"] == {"alpha": "1.0", "beta": "1.0"}


def test_shared_batch_with_a_clash_blocks_every_run(index):
    make_skill("a", python=["beta==1.0"])
    make_skill("b", python=["beta==2.0"])

    batch = services.request_batch(
        skill_ids=["a", "b"], mode="shared", trigger=Trigger.API
    )

    assert set(batch.runs.values_list("status", flat=True)) == {Status.BLOCKED}
    assert batch.error.startswith("1 conflict(s) between the skills of the batch")
    assert Conflict.objects.get(batch=batch).kind == "across_batch"
    assert OrmQ.objects.count() == 0


def test_npm_dependencies_are_installed_with_the_lock(index, npm_registry, settings):
    npm_registry.publish("left-pad", "1.3.0")
    npm_registry.publish("@acme/util", "2.1.0", dependencies={"left-pad": "^1.0.0"})
    make_skill("a", python=["beta"], npm={"@acme/util": "^2.0.0"})

    run = install("a")

    assert run.status == Status.SUCCEEDED, run.log
    assert run.locked_versions["npm"]["@acme/util"] == "2.1.0"
    root = Path(run.artifact.reference)
    assert (root / "node" / "node_modules" / "left-pad" / "package.json").exists()


def test_housekeeping_marks_stalled_runs_stale():
    from django_q.models import Schedule

    make_skill("a", python=["alpha"])
    stalled = services.request_install(skill_id="a", trigger=Trigger.API, enqueue=False)
    Skill.objects.filter(pk="a").update(lock_expires_at="2000-01-01T00:00:00Z")

    assert services.recover_stalled_runs() == 1

    stalled.refresh_from_db()
    assert stalled.status == Status.STALE
    skill = Skill.objects.get(pk="a")
    assert (skill.lock_owner, skill.lock_run_id, skill.lock_expires_at) == (
        "",
        None,
        None,
    )
    assert services.recover_stalled_runs() == 0
    assert Schedule.objects.get(func="installs.tasks.recover_stalled_runs").minutes == 1


def test_following_a_run_whose_worker_died_takes_it_over():
    make_skill("a", python=["alpha"])
    orphan = services.request_install(skill_id="a", trigger=Trigger.CLI, enqueue=False)
    Skill.objects.filter(pk="a").update(lock_expires_at="2000-01-01T00:00:00Z")

    followed = services.follow_run(orphan.pk, timeout=30, poll=0.05)

    assert followed.status == Status.STALE
    assert Skill.objects.get(pk="a").lock_owner == ""


def test_a_run_that_lost_its_claim_does_not_activate(index):
    import threading

    from django.db import connection

    make_skill("a", python=["alpha==1.0"])
    run = services.request_install(skill_id="a", trigger=Trigger.CLI, enqueue=False)

    def take_over():
        # What another worker's takeover writes once the claim has expired.
        while not InstallRun.objects.filter(pk=run.pk, status=Status.BUILDING).exists():
            time.sleep(0.01)
        Skill.objects.filter(pk="a").update(lock_owner="run-999")
        connection.close()

    thief = threading.Thread(target=take_over)
    thief.start()
    run = services.execute_run(run.pk)
    thief.join()

    assert run.status == Status.FAILED
    assert run.error_code == "busy"
    assert run.error == (
        f"Run {run.pk} lost its claim on skill 'a' to another worker before it "
        "could activate the environment."
    )
    assert Skill.objects.get(pk="a").active_artifact_id is None
