"""Reads that several faces share: a skill's state, its latest runs, what a
run changed and the counts of the admin overview."""

from dataclasses import dataclass, field

import nodesemver
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from packaging.version import InvalidVersion, Version

from installs.models import Artifact, Ecosystem, InstallRun, Skill

Status = InstallRun.Status

STATE_INSTALLED = "installed"
STATE_BUILDING = "building"
STATE_FAILED = "failed"
STATE_BLOCKED = "blocked"
STATE_NEVER = "never installed"
SKILL_STATES = [
    STATE_INSTALLED,
    STATE_BUILDING,
    STATE_FAILED,
    STATE_BLOCKED,
    STATE_NEVER,
]


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


# --- listing skills by state --------------------------------------------------


def with_last_run(skills):
    """Annotate skills with the id and status of their newest run."""
    newest = InstallRun.objects.filter(skill=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return skills.annotate(
        last_run_pk=Subquery(newest.values("pk")[:1]),
        last_run_status=Subquery(newest.values("status")[:1]),
    )


def filter_by_state(skills, state):
    """Keep the skills of ``with_last_run(...)`` whose skill_state is ``state``.

    The same decision as ``skill_state``, written as a query so that a list
    can filter and count without loading every run.
    """
    failed = [Status.FAILED, Status.STALE]
    settled = Q(last_run_status__isnull=True) | ~Q(
        last_run_status__in=[*InstallRun.IN_FLIGHT, Status.BLOCKED, *failed]
    )
    if state == STATE_BUILDING:
        return skills.filter(last_run_status__in=InstallRun.IN_FLIGHT)
    if state == STATE_BLOCKED:
        return skills.filter(last_run_status=Status.BLOCKED)
    if state == STATE_FAILED:
        return skills.filter(last_run_status__in=failed)
    if state == STATE_INSTALLED:
        return skills.filter(settled, active_artifact__isnull=False)
    if state == STATE_NEVER:
        return skills.filter(settled, active_artifact__isnull=True)
    return skills.none()


def latest_runs(skills):
    """Return {skill id: newest run} for ``with_last_run(...)`` skills."""
    ids = [skill.last_run_pk for skill in skills if skill.last_run_pk]
    runs = InstallRun.objects.filter(pk__in=ids).select_related("requested_by")
    return {run.skill_id: run for run in runs}


# --- what a run changed -------------------------------------------------------


@dataclass(frozen=True)
class PackageChange:
    ecosystem: str
    package: str
    before: str
    after: str


@dataclass
class LockChanges:
    """How a run's locked versions differ from the skill's previous good run.

    ``previous`` is None when the run is the skill's first successful one;
    then every locked package counts as added.
    """

    previous: object
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    upgraded: list = field(default_factory=list)
    downgraded: list = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self):
        return bool(self.added or self.removed or self.upgraded or self.downgraded)


def previous_good_run(run):
    """Return the skill's newest successful run made before ``run``, or None."""
    earlier = Q(created_at__lt=run.created_at) | Q(
        created_at=run.created_at, pk__lt=run.pk
    )
    return (
        InstallRun.objects.filter(
            earlier,
            skill_id=run.skill_id,
            status__in=[Status.SUCCEEDED, Status.ROLLED_BACK],
        )
        .exclude(dependency_hash="")
        .order_by("-created_at", "-id")
        .first()
    )


def _compare(ecosystem, before, after):
    """Return -1, 0 or 1 as ``after`` is older, equal or newer than ``before``."""
    if before == after:
        return 0
    try:
        if ecosystem == Ecosystem.NPM:
            return nodesemver.compare(after, before, True)
        old, new = Version(before), Version(after)
    except (ValueError, InvalidVersion):
        # Unorderable versions (a git ref, a local tag) still changed; calling
        # the change an upgrade is the reading that hides nothing.
        return 1
    return (new > old) - (new < old)


def lock_changes(run, previous=None):
    """Compare a run's locked versions with the previous good run's.

    Return None when the run has no lock (it never got to resolving).
    """
    current = run.locked_versions or {}
    if not any(current.get(ecosystem) for ecosystem in Ecosystem.values):
        return None

    previous = previous if previous is not None else previous_good_run(run)
    before_all = previous.locked_versions if previous is not None else {}
    changes = LockChanges(previous=previous)
    for ecosystem in Ecosystem.values:
        before = (before_all or {}).get(ecosystem) or {}
        after = current.get(ecosystem) or {}
        for package in sorted(before.keys() | after.keys()):
            old, new = before.get(package), after.get(package)
            change = PackageChange(ecosystem, package, old or "", new or "")
            if old is None:
                changes.added.append(change)
            elif new is None:
                changes.removed.append(change)
            else:
                order = _compare(ecosystem, old, new)
                if order > 0:
                    changes.upgraded.append(change)
                elif order < 0:
                    changes.downgraded.append(change)
                else:
                    changes.unchanged += 1
    return changes


# --- the overview page --------------------------------------------------------


@dataclass
class Overview:
    runs_by_status: list
    skills_by_state: list
    recent_failures: list
    artifact_count: int
    artifact_bytes: int


def overview(*, failures=10):
    """Return the counts and recent failures the admin overview shows."""
    counts = dict(
        InstallRun.objects.order_by()
        .values_list("status")
        .annotate(total=Count("pk"))
        .values_list("status", "total")
    )
    runs_by_status = [
        (status, label, counts.get(status, 0)) for status, label in Status.choices
    ]

    skills = with_last_run(Skill.objects.all())
    skills_by_state = [
        (state, filter_by_state(skills, state).count()) for state in SKILL_STATES
    ]

    recent_failures = list(
        InstallRun.objects.filter(
            status__in=[Status.FAILED, Status.BLOCKED, Status.STALE]
        )
        .select_related("skill", "requested_by")
        .order_by("-created_at", "-id")[:failures]
    )

    ready = Artifact.objects.filter(status=Artifact.Status.READY).aggregate(
        count=Count("pk"), total=Sum("size_bytes")
    )
    return Overview(
        runs_by_status=runs_by_status,
        skills_by_state=skills_by_state,
        recent_failures=recent_failures,
        artifact_count=ready["count"],
        artifact_bytes=ready["total"] or 0,
    )
