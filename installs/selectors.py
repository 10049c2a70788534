"""Reads that several faces share: a skill's state, its latest runs."""

from installs.models import InstallRun

Status = InstallRun.Status

STATE_INSTALLED = "installed"
STATE_BUILDING = "building"
STATE_FAILED = "failed"
STATE_BLOCKED = "blocked"
STATE_NEVER = "never installed"


def last_run(skill):
    """Return the newest run of a skill, or None."""
    return skill.runs.order_by("-created_at", "-id").first()


def skill_state(skill, run=None):
    """Return one of installed, building, failed, blocked, never installed."""
    run = run if run is not None else last_run(skill)
    if run is None:
        return STATE_INSTALLED if skill.active_artifact_id else STATE_NEVER
    if run.status in InstallRun.IN_FLIGHT:
        return STATE_BUILDING
    if run.status == Status.BLOCKED:
        return STATE_BLOCKED
    if run.status in (Status.FAILED, Status.STALE):
        return STATE_FAILED
    return STATE_INSTALLED if skill.active_artifact_id else STATE_NEVER


def open_conflicts(skill):
    """Return the conflicts of the skill's newest run, if it was blocked."""
    run = last_run(skill)
    if run is None or run.status != Status.BLOCKED:
        return skill.conflicts.none()
    if run.batch_id and not run.conflicts.exists():
        return run.batch.conflicts.filter(skills=skill)
    return run.conflicts.all()
