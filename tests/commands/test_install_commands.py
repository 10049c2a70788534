"""install_skill, skill_status, rollback_skill and prune_artifacts, with real
uv builds from a local index."""

import json
from pathlib import Path

import pytest

from installs.models import Artifact, InstallRun, Skill
from tests.support.commands import run_command

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def skills(python_index):
    python_index.add("alpha", "1.0")
    python_index.add("alpha", "2.0")
    Skill.objects.create(id="acme/a", python_requirements=["alpha==1.0"])
    Skill.objects.create(id="acme/bad", python_requirements=["alpha==1", "alpha==2"])
    Skill.objects.create(id="acme/missing", python_requirements=["nosuch"])


def test_install_wait_json_reports_each_run_and_exits_0(skills):
    code, out, _ = run_command("install_skill", "acme/a", "--wait", "--json")

    assert code == 0
    (outcome,) = json.loads(out)["runs"]
    run = InstallRun.objects.get()
    assert outcome == {
        "skill": "acme/a",
        "run": run.pk,
        "status": "succeeded",
        "cache_hit": False,
        "code": "",
        "error": "",
        "dependency_hash": run.dependency_hash,
    }
    assert run.trigger == "cli"

    code, out, _ = run_command("install_skill", "acme/a", "--wait")
    assert (code, out) == (0, f"acme/a: succeeded (run {run.pk + 1}, cache hit)\n")


def test_install_exits_1_when_any_run_is_blocked_or_failed(skills):
    code, out, _ = run_command(
        "install_skill", "acme/a", "acme/bad", "acme/missing", "nope", "--wait"
    )

    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("acme/a: succeeded (run ")
    assert lines[1].startswith("acme/bad: blocked (run ")
    assert lines[2] == (
        "  Python package 'alpha': no version satisfies all of 'alpha==1' (skill "
        "'acme/bad'), 'alpha==2' (skill 'acme/bad'). Fix the skill's manifest so that "
        "its specs on this package agree."
    )
    assert lines[3].startswith("acme/missing: failed (run ")
    assert (
        lines[4] == "  Python package 'nosuch' was not found on the configured index."
    )
    assert lines[5:] == ["nope: error", "  Skill 'nope' does not exist."]


def test_install_without_wait_queues_for_the_worker(skills):
    from django_q.models import OrmQ

    code, out, _ = run_command("install_skill", "acme/a")

    assert code == 0
    assert out.startswith("acme/a: queued (run ")
    assert OrmQ.objects.count() == 1


def test_skill_status_shows_environment_runs_and_conflicts(skills):
    run_command("install_skill", "acme/a", "acme/bad", "--wait")

    code, out, _ = run_command("skill_status", "acme/a", "--json")
    status = json.loads(out)
    assert code == 0
    assert status["state"] == "installed"
    assert status["active_artifact"]["locked_versions"] == {
        "python": {"alpha": "1.0"},
        "npm": {},
    }
    assert [run["status"] for run in status["runs"]] == ["succeeded"]

    code, out, _ = run_command("skill_status", "acme/bad")
    assert out.splitlines()[0] == "acme/bad: blocked"
    assert out.splitlines()[-1].startswith("  conflict: Python package 'alpha'")

    assert run_command("skill_status", "nope") == (
        1,
        "",
        "Skill 'nope' does not exist.",
    )


def test_rollback_and_prune_commands(skills):
    run_command("install_skill", "acme/a", "--wait")
    first = InstallRun.objects.get()
    Skill.objects.filter(pk="acme/a").update(python_requirements=["alpha==2.0"])
    run_command("install_skill", "acme/a", "--wait")

    code, out, _ = run_command("rollback_skill", "acme/a")
    back = InstallRun.objects.get(kind="rollback")
    assert (code, out) == (
        0,
        f"acme/a: run {back.pk} rolled_back, environment of run {first.pk}\n",
    )
    assert Skill.objects.get(pk="acme/a").active_artifact_id == first.artifact_id

    unused = Artifact.objects.exclude(pk=first.artifact_id).get()
    code, out, _ = run_command("prune_artifacts", "--keep-last", "0")
    assert code == 0
    assert out.splitlines() == [
        f"removed {unused.reference} ({unused.size_bytes} bytes)",
        f"1 environment(s) removed, {unused.size_bytes} bytes freed, 1 kept.",
    ]
    assert not Path(unused.reference).exists()
    assert Path(first.artifact.reference).exists()


def test_rollback_command_errors(skills):
    code, _, err = run_command("rollback_skill", "acme/a")
    assert (code, err) == (
        1,
        "Skill 'acme/a' has no earlier successful environment to roll back to.",
    )
    code, _, err = run_command("rollback_skill", "acme/a", "--to", "999")
    assert err == (
        "Run 999 is not a successful run of skill 'acme/a', so the skill cannot be "
        "rolled back to it."
    )


@pytest.mark.parametrize("option", ["--keep-last", "--max-bytes"])
def test_prune_refuses_a_negative_bound(option):
    code, _, err = run_command("prune_artifacts", option, "-1")

    assert code == 1
    assert err == (f"Error: argument {option}: '-1' is not a whole number of 0 or more")
