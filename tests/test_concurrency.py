"""Claims hold across real processes: each install is built once.

These run on the embedded SQLite and, with DATABASE_URL pointing at
PostgreSQL (``make test`` does this), on PostgreSQL's row locks.
"""

import json
import os

import pytest

from installs import services
from installs.models import Artifact, InstallRun, Skill
from tests.support.workers import manage, process_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def run_all(commands):
    """Start every command at once; return their (exit code, stdout, stderr)."""
    procs = [manage(*args) for args in commands]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        results.append((proc.returncode, out, err))
    return results


@pytest.fixture
def index(python_index):
    for n in range(5):
        python_index.add(f"pkg{n}", "1.0")
    return python_index


def test_twenty_processes_asking_for_one_skill_build_it_once(index):
    Skill.objects.create(id="acme/one", python_requirements=["pkg0"])

    results = run_all([["install_skill", "acme/one", "--wait", "--json"]] * 20)

    assert [code for code, _, _ in results] == [0] * 20, [err for _, _, err in results]
    outcomes = [json.loads(out)["runs"][0] for _, out, _ in results]
    assert {o["status"] for o in outcomes} == {"succeeded"}
    built = InstallRun.objects.filter(cache_hit=False, status="succeeded")
    assert built.count() == 1
    assert Artifact.objects.count() == 1
    assert InstallRun.objects.exclude(status="succeeded").count() == 0


def test_twenty_skills_with_five_distinct_locks_give_five_builds(index):
    for n in range(20):
        Skill.objects.create(id=f"skill{n}", python_requirements=[f"pkg{n % 5}"])

    results = run_all([["install_skill", f"skill{n}", "--wait"] for n in range(20)])

    assert [code for code, _, _ in results] == [0] * 20, [err for _, _, err in results]
    assert Artifact.objects.filter(status="ready").count() == 5
    assert InstallRun.objects.filter(cache_hit=False).count() == 5
    assert InstallRun.objects.filter(cache_hit=True).count() == 15
    per_lock = {}
    for skill in Skill.objects.select_related("active_artifact"):
        per_lock.setdefault(skill.python_requirements[0], set()).add(
            skill.active_artifact_id
        )
    assert all(len(ids) == 1 for ids in per_lock.values())


def test_a_real_qcluster_worker_runs_queued_installs(index):

    Skill.objects.create(id="acme/queued", python_requirements=["pkg1"])
    worker = manage("qcluster", env=process_env(SKILLINSTALL_WORKERS="1"))
    try:
        run = services.request_install(skill_id="acme/queued", trigger="api")
        assert run.status == "queued"
        run = services.follow_run(run.pk, timeout=180)
    finally:
        worker.terminate()
        _out, err = worker.communicate(timeout=60)

    assert run.status == "succeeded", run.log + err
    assert run.worker and run.worker != ""
    assert Skill.objects.get(pk="acme/queued").active_artifact_id == run.artifact_id


@pytest.mark.skipif(
    not os.environ.get("SKILLINSTALL_TEST_REDIS_URL"),
    reason="SKILLINSTALL_TEST_REDIS_URL is not set; scripts/services.sh starts Redis",
)
def test_a_qcluster_on_the_redis_broker_runs_installs_queued_by_another_process(index):
    import redis

    url = os.environ["SKILLINSTALL_TEST_REDIS_URL"]
    env = process_env(SKILLINSTALL_REDIS_URL=url, SKILLINSTALL_WORKERS="1")
    # A queue name of its own, so a concurrent suite cannot take this task.
    env["SKILLINSTALL_QUEUE_NAME"] = f"skillinstall-test-{os.getpid()}"
    Skill.objects.create(id="acme/redis", python_requirements=["pkg2"])

    queued = manage("install_skill", "acme/redis", "--json", env=env)
    out, err = queued.communicate(timeout=120)
    assert queued.returncode == 0, err
    (outcome,) = json.loads(out)["runs"]
    assert outcome["status"] == "queued"
    assert (
        redis.Redis.from_url(url).llen(f"django_q:{env['SKILLINSTALL_QUEUE_NAME']}:q")
        == 1
    )

    worker = manage("qcluster", env=env)
    try:
        run = services.follow_run(outcome["run"], timeout=180)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=60)

    assert run.status == "succeeded", run.log + err
    assert Skill.objects.get(pk="acme/redis").active_artifact_id == run.artifact_id
