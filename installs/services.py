"""The install pipeline and every other change of state.

Views, admin actions, commands and tasks call these functions and nothing
else writes to the models. See DESIGN.md, "Pipeline of one install run".
"""

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from installs import conflicts as conflict_checks
from installs import locking
from installs.backends.base import get_backend
from installs.exceptions import (
    ConflictError,
    InvalidManifestError,
    InvalidSpecError,
    LockBusyError,
    NoRollbackTargetError,
    ResolutionError,
    SkillInstallError,
    SkillNotFoundError,
)
from installs.manifests import SkillManifest, load_manifest, parse_manifest
from installs.models import (
    Artifact,
    Batch,
    Conflict,
    Ecosystem,
    InstallRun,
    Skill,
    Trigger,
)

logger = logging.getLogger(__name__)

Status = InstallRun.Status


# --- skills and manifests ---------------------------------------------------


@dataclass
class ImportResult:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)

    @property
    def skill_ids(self):
        return self.created + self.updated + self.unchanged


def _declared(manifest):
    return {
        "name": manifest.name,
        "version": manifest.version,
        "python_requirements": manifest.python_requirements,
        "npm_dependencies": manifest.npm_dependencies,
    }


@transaction.atomic
def save_skills(manifests, *, source=""):
    """Create or update skills from validated manifests, in one transaction."""
    result = ImportResult()
    for manifest in manifests:
        declared = _declared(manifest)
        skill = Skill.objects.select_for_update().filter(pk=manifest.id).first()
        if skill is None:
            Skill.objects.create(id=manifest.id, source=source, **declared)
            result.created.append(manifest.id)
            logger.info("skill created skill=%s source=%s", manifest.id, source)
            continue
        if all(getattr(skill, key) == value for key, value in declared.items()):
            result.unchanged.append(manifest.id)
            continue
        for key, value in declared.items():
            setattr(skill, key, value)
        skill.source = source or skill.source
        skill.save()
        result.updated.append(manifest.id)
        logger.info("skill updated skill=%s source=%s", manifest.id, source)
    return result


def import_manifest(data, *, source=""):
    """Create or update the skills of a manifest (bytes, text or decoded)."""
    if isinstance(data, (bytes, str)):
        manifests = load_manifest(data, source=source)
    else:
        manifests = parse_manifest(data, source=source)
    return save_skills(manifests, source=source)


def get_skill(skill_id):
    """Return the skill with this id or raise SkillNotFoundError."""
    try:
        return Skill.objects.get(pk=skill_id)
    except Skill.DoesNotExist:
        raise SkillNotFoundError(f"Skill '{skill_id}' does not exist.") from None


def manifest_of(skill):
    """Return the parsed manifest of a stored skill."""
    try:
        return SkillManifest.build(
            id=skill.id,
            name=skill.name,
            version=skill.version,
            python_requirements=skill.python_requirements,
            npm_dependencies=skill.npm_dependencies,
            source=skill.source,
        )
    except InvalidSpecError as exc:
        raise InvalidManifestError(exc.message) from exc


# --- conflicts --------------------------------------------------------------


@dataclass
class CheckResult:
    conflicts: list
    checked: int


def environment_of(skill):
    """Return the resolved versions of a skill's active environment, or None."""
    artifact = skill.active_artifact
    if artifact is None:
        return None
    versions = artifact.locked_versions or {}
    return conflict_checks.Environment(
        label=f"skill '{skill.id}'",
        python=versions.get("python", {}),
        npm=versions.get("npm", {}),
    )


def find_conflicts(
    manifests,
    *,
    shared=False,
    python_constraints_path=None,
    npm_constraints_path=None,
    against=None,
):
    """Return the direct conflicts of ``manifests``; store nothing."""
    python_constraints, npm_constraints = conflict_checks.platform_constraints(
        python_path=python_constraints_path, npm_path=npm_constraints_path
    )
    return conflict_checks.find_conflicts(
        manifests,
        shared=shared,
        python_constraints=python_constraints,
        npm_constraints=npm_constraints,
        environment=environment_of(against) if against is not None else None,
    )


def record_conflicts(reports, *, run=None, batch=None):
    """Store ConflictReports as Conflict rows linked to their skills."""
    rows = []
    for report in reports:
        row = Conflict.objects.create(
            ecosystem=report.ecosystem,
            package=report.package,
            kind=report.kind,
            specs=[ref.__dict__ for ref in report.specs],
            message=report.message,
            run=run,
            batch=batch,
        )
        row.skills.set(Skill.objects.filter(pk__in=report.skill_ids))
        rows.append(row)
    return rows


def check_skill_conflicts(
    *,
    skill_ids=None,
    shared=False,
    python_constraints_path=None,
    npm_constraints_path=None,
    record=True,
):
    """Check stored skills (all when ``skill_ids`` is None) and record conflicts."""
    if skill_ids is None:
        skills = list(Skill.objects.all())
    else:
        skills = existing_skills(skill_ids)

    manifests = [manifest_of(skill) for skill in skills]
    reports = find_conflicts(
        manifests,
        shared=shared,
        python_constraints_path=python_constraints_path,
        npm_constraints_path=npm_constraints_path,
    )
    if record and reports:
        with transaction.atomic():
            record_conflicts(reports)
    return CheckResult(conflicts=reports, checked=len(manifests))


# --- run bookkeeping --------------------------------------------------------


def append_log(run_id, line):
    """Append a timestamped line to a run's log, visible at once."""
    stamp = timezone.now().strftime("%H:%M:%S.%f")[:-3]
    InstallRun.objects.filter(pk=run_id).update(
        log=Concat(F("log"), Value(f"{stamp} {line}\n"))
    )


def _set_status(run, status, **fields):
    run.status = status
    for key, value in fields.items():
        setattr(run, key, value)
    InstallRun.objects.filter(pk=run.pk).update(status=status, **fields)


def _finish(run, status, *, error=None, error_code="", **fields):
    now = timezone.now()
    fields.update(status=status, finished_at=now)
    if run.started_at is None:
        fields["started_at"] = now
    if error is not None:
        fields.update(error=error, error_code=error_code)
    for key, value in fields.items():
        setattr(run, key, value)
    InstallRun.objects.filter(pk=run.pk).update(**fields)
    append_log(run.pk, f"run {status}" + (f": {error}" if error else ""))


def _sha256(document):
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def input_hash(manifest, *, python_constraints=(), npm_constraints=()):
    """Hash everything that decides what a resolution of ``manifest`` gives."""
    from installs import resolver

    return _sha256(
        {
            "python": sorted(req.text for req in manifest.python),
            "npm": sorted(dep.text for dep in manifest.npm),
            "python_constraints": sorted(req.text for req in python_constraints),
            "npm_constraints": sorted(dep.text for dep in npm_constraints),
            "resolver": resolver.resolver_settings(),
            "backend": settings.SKILLINSTALL_BACKEND,
        }
    )


def dependency_hash(*, python_lock, npm_lock, backend, target):
    """Hash a lock into the address of its environment."""
    return _sha256(
        {"python": python_lock, "npm": npm_lock, "backend": backend, "target": target}
    )


def _target():
    return f"python{settings.SKILLINSTALL_TARGET_PYTHON}-{settings.SKILLINSTALL_TARGET_PLATFORM}"


# --- requesting installs ----------------------------------------------------


def _reusable_artifact(artifact, backend):
    return (
        artifact is not None
        and artifact.status == Artifact.Status.READY
        and backend.exists(artifact.reference)
    )


def _take_over_stalled(skill, backend):
    """Mark the expired run holding ``skill`` stale and clear what it left."""
    run = skill.lock_run
    if run is not None and run.in_flight:
        _finish(
            run,
            Status.STALE,
            error=f"The worker {run.worker or '(unknown)'} stopped renewing its claim; "
            "the run was taken over.",
            error_code="stale",
        )
        if run.dependency_hash:  # a run stalled while resolving built nothing
            backend.remove_partial(run.dependency_hash, run.pk)
        logger.warning("stalled run taken over run=%s skill=%s", run.pk, skill.pk)
    skill.lock_owner, skill.lock_run, skill.lock_expires_at = "", None, None


def request_install(
    *,
    skill_id,
    trigger,
    requested_by=None,
    force=False,
    batch=None,
    specs=None,
    enqueue=True,
):
    """Start an install of a skill and return its run.

    A run already in flight for the skill is returned instead of a second
    one. An unchanged skill whose environment exists succeeds at once as a
    cache hit. Direct conflicts block the run before anything is queued.
    ``specs`` overrides what is installed (a shared batch's union).
    """
    backend = get_backend()
    python_constraints, npm_constraints = conflict_checks.platform_constraints()

    with transaction.atomic():
        try:
            skill = Skill.objects.select_for_update().get(pk=skill_id)
        except Skill.DoesNotExist:
            raise SkillNotFoundError(f"Skill '{skill_id}' does not exist.") from None

        # Coalesce: a live claim means a run is already working on this skill.
        if skill.lock_run_id and skill.lock_owner:
            if not locking.is_expired(skill.lock_expires_at):
                logger.info(
                    "install coalesced skill=%s run=%s", skill_id, skill.lock_run_id
                )
                return InstallRun.objects.get(pk=skill.lock_run_id)
            _take_over_stalled(skill, backend)

        manifest = specs or manifest_of(skill)
        run = InstallRun.objects.create(
            skill=skill,
            batch=batch,
            trigger=trigger,
            requested_by=requested_by,
            force=force,
            python_requirements=manifest.python_requirements,
            npm_dependencies=manifest.npm_dependencies,
            previous_artifact=skill.active_artifact,
            input_hash=input_hash(
                manifest,
                python_constraints=python_constraints,
                npm_constraints=npm_constraints,
            ),
        )
        append_log(
            run.pk, f"run requested by {requested_by or trigger} for skill {skill_id}"
        )

        reports = conflict_checks.find_conflicts(
            [manifest],
            python_constraints=python_constraints,
            npm_constraints=npm_constraints,
        )
        if reports:
            record_conflicts(reports, run=run, batch=batch)
            _finish(
                run,
                Status.BLOCKED,
                error=reports[0].message
                + (
                    f" ({len(reports) - 1} more conflict(s))"
                    if len(reports) > 1
                    else ""
                ),
                error_code="conflict",
            )
            logger.info(
                "install blocked skill=%s run=%s conflicts=%s",
                skill_id,
                run.pk,
                len(reports),
            )
            return run

        if not force:
            previous = (
                InstallRun.objects.filter(
                    input_hash=run.input_hash,
                    status=Status.SUCCEEDED,
                    kind=InstallRun.Kind.INSTALL,
                )
                .select_related("artifact")
                .first()
            )
            if previous is not None and _reusable_artifact(previous.artifact, backend):
                _activate(
                    skill, run, previous.artifact, cache_hit=True, source=previous
                )
                return run

        skill.lock_owner = f"run-{run.pk}"
        skill.lock_run = run
        skill.lock_expires_at = locking.claim_expiry()
        skill.save(update_fields=["lock_owner", "lock_run", "lock_expires_at"])
        logger.info(
            "install queued skill=%s run=%s trigger=%s", skill_id, run.pk, trigger
        )

    if enqueue:
        _enqueue(run)
    return run


def _enqueue(run):
    from django_q.tasks import async_task

    async_task("installs.tasks.execute_run", run.pk, task_name=f"run-{run.pk}")


def _activate(skill, run, artifact, *, cache_hit, source=None):
    """Make ``artifact`` the skill's environment and finish ``run``."""
    now = timezone.now()
    Artifact.objects.filter(pk=artifact.pk).update(last_used_at=now)
    Skill.objects.filter(pk=skill.pk).update(active_artifact=artifact)
    skill.active_artifact = artifact
    fields = {
        "artifact": artifact,
        "dependency_hash": artifact.dependency_hash,
        "cache_hit": cache_hit,
        "locked_versions": artifact.locked_versions,
        "python_lock": artifact.python_lock,
        "npm_lock": artifact.npm_lock,
    }
    if cache_hit:
        append_log(
            run.pk,
            f"cache hit: environment {artifact.dependency_hash[:12]} exists"
            + (f" (built for run {source.pk})" if source is not None else ""),
        )
    status = (
        Status.ROLLED_BACK if run.kind == InstallRun.Kind.ROLLBACK else Status.SUCCEEDED
    )
    _finish(run, status, **fields)
    logger.info(
        "environment activated skill=%s run=%s artifact=%s cache_hit=%s",
        skill.pk,
        run.pk,
        artifact.dependency_hash[:12],
        cache_hit,
    )


# --- executing a run (worker side) -------------------------------------------


def execute_run(run_id):
    """Resolve, build and activate the environment of a queued run."""
    worker = locking.worker_name()
    # Taking the run is one conditional update, so two workers handed the
    # same run cannot both work on it.
    taken = InstallRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RESOLVING, started_at=timezone.now(), worker=worker
    )
    run = InstallRun.objects.select_related("skill", "rollback_to").get(pk=run_id)
    if not taken:
        logger.info("run already taken run=%s status=%s", run_id, run.status)
        return run
    owner = f"run-{run.pk}"
    append_log(run.pk, f"worker {worker} started the run")
    backend = get_backend()
    skill = run.skill

    try:
        with locking.Heartbeat(owner, [(Skill, skill.pk)]) as heartbeat:
            python_lock, npm_lock, versions = _lock_for(run)
            digest = dependency_hash(
                python_lock=python_lock,
                npm_lock=npm_lock,
                backend=backend.name,
                target=_target(),
            )
            _set_status(
                run,
                Status.BUILDING,
                python_lock=python_lock,
                npm_lock=npm_lock,
                locked_versions=versions,
                dependency_hash=digest,
            )
            artifact, cache_hit = _obtain_artifact(
                run,
                backend,
                heartbeat,
                digest=digest,
                python_lock=python_lock,
                npm_lock=npm_lock,
                versions=versions,
            )
            with transaction.atomic():
                # Another worker may have taken the skill over while this one
                # was slow: its run decides what the skill gets, not this one.
                if not Skill.objects.select_for_update().filter(
                    pk=skill.pk, lock_owner=owner
                ):
                    raise LockBusyError(
                        f"Run {run.pk} lost its claim on skill '{skill.pk}' to another "
                        "worker before it could activate the environment."
                    )
                _activate(skill, run, artifact, cache_hit=cache_hit)
    except ConflictError as exc:
        _finish(run, Status.BLOCKED, error=exc.message, error_code=exc.code)
    except ResolutionError as exc:
        _record_resolution_failure(run, exc)
    except SkillInstallError as exc:
        _finish(run, Status.FAILED, error=exc.message, error_code=exc.code)
        logger.info("run failed run=%s skill=%s code=%s", run.pk, skill.pk, exc.code)
    except Exception as exc:
        logger.exception("run crashed run=%s skill=%s", run.pk, skill.pk)
        _finish(
            run, Status.FAILED, error=f"Internal error: {exc}", error_code="internal"
        )
    finally:
        if run.dependency_hash and run.status != Status.SUCCEEDED:
            backend.remove_partial(run.dependency_hash, run.pk)
        locking.release(Skill, skill.pk, owner, lock_run=None)
    return run


def _lock_for(run):
    """Return (python lock, npm lock, versions) for the run, resolving if needed."""
    from installs import resolver

    log = lambda line: append_log(run.pk, line)

    if run.kind == InstallRun.Kind.ROLLBACK:
        source = run.rollback_to
        log(f"rebuilding the environment of run {source.pk} from its stored lock")
        return source.python_lock, source.npm_lock, source.locked_versions

    if not run.force:
        previous = (
            InstallRun.objects.filter(
                input_hash=run.input_hash, status=Status.SUCCEEDED
            )
            .exclude(pk=run.pk)
            .first()
        )
        if previous is not None:
            log(f"inputs unchanged since run {previous.pk}: reusing its lock")
            return previous.python_lock, previous.npm_lock, previous.locked_versions

    manifest = SkillManifest.build(
        id=run.skill_id,
        name="",
        version="",
        python_requirements=run.python_requirements,
        npm_dependencies=run.npm_dependencies,
    )
    python_constraints, _ = conflict_checks.platform_constraints()
    log("resolving Python requirements with uv")
    python_lock = resolver.resolve_python(
        [req.text for req in manifest.python],
        constraints=[req.text for req in python_constraints],
        log=log,
    )
    npm_lock = resolver.NpmLock(text="", versions={})
    if manifest.npm:
        log("resolving npm dependencies with npm")
        try:
            npm_lock = resolver.resolve_npm(_npm_ranges(manifest.npm), log=log)
        except ResolutionError as exc:
            exc.details.setdefault("ecosystem", Ecosystem.NPM)
            raise
    versions = {"python": python_lock.versions, "npm": npm_lock.versions}
    return python_lock.text, npm_lock.text, versions


def _npm_ranges(dependencies):
    """Fold npm dependencies into one range per package."""
    from installs.requirements import npm

    by_name = {}
    for dep in dependencies:
        by_name.setdefault(dep.name, []).append(dep.spec)
    return {name: npm.intersect(specs) for name, specs in by_name.items()}


def _declared_specs(run, ecosystem):
    if ecosystem == Ecosystem.PYTHON:
        return list(run.python_requirements or [])
    declared = run.npm_dependencies or {}
    if isinstance(declared, dict):
        return [f"{name}@{spec}" for name, spec in declared.items()]
    return list(declared)


def _record_resolution_failure(run, exc):
    if not isinstance(exc, ResolutionError) or exc.code == "package_not_found":
        _finish(run, Status.FAILED, error=exc.message, error_code=exc.code)
        return
    ecosystem = exc.details.get("ecosystem", Ecosystem.PYTHON)
    with transaction.atomic():
        conflict = Conflict.objects.create(
            ecosystem=ecosystem,
            package=", ".join(exc.packages) or "(unknown)",
            kind=Conflict.Kind.TRANSITIVE,
            specs=[
                {"spec": spec, "source": run.skill_id}
                for spec in _declared_specs(run, ecosystem)
            ],
            message=exc.message,
            explanation=exc.explanation,
            run=run,
            batch=run.batch,
        )
        conflict.skills.add(run.skill)
        _finish(run, Status.BLOCKED, error=exc.message, error_code=exc.code)
    logger.info("run blocked by resolution run=%s skill=%s", run.pk, run.skill_id)


def _obtain_artifact(
    run, backend, heartbeat, *, digest, python_lock, npm_lock, versions
):
    """Return (artifact, cache_hit): reuse, wait for, or build the environment."""
    owner = f"run-{run.pk}"
    waiting_for = None
    while True:
        with transaction.atomic():
            try:
                artifact, created = Artifact.objects.select_for_update().get_or_create(
                    dependency_hash=digest,
                    defaults={
                        "backend": backend.name,
                        "target": _target(),
                        "reference": backend.reference_for(digest),
                        "python_lock": python_lock,
                        "npm_lock": npm_lock,
                        "locked_versions": versions,
                        "lock_owner": owner,
                        "lock_expires_at": locking.claim_expiry(),
                    },
                )
            except IntegrityError:
                continue
            if not created:
                if _reusable_artifact(artifact, backend):
                    return artifact, True
                building = (
                    artifact.status == Artifact.Status.BUILDING
                    and artifact.lock_owner
                    and not locking.is_expired(artifact.lock_expires_at)
                )
                if not building:
                    if artifact.lock_owner and artifact.lock_owner != owner:
                        stalled_run = artifact.lock_owner.removeprefix("run-")
                        if stalled_run.isdigit():
                            backend.remove_partial(digest, int(stalled_run))
                    artifact.status = Artifact.Status.BUILDING
                    artifact.lock_owner = owner
                    artifact.lock_expires_at = locking.claim_expiry()
                    artifact.save(
                        update_fields=["status", "lock_owner", "lock_expires_at"]
                    )
                    created = True
        if created:
            break
        if waiting_for != artifact.lock_owner:
            waiting_for = artifact.lock_owner
            append_log(
                run.pk,
                f"environment {digest[:12]} is being built by {waiting_for}; waiting",
            )
        time.sleep(0.2)

    heartbeat.add(Artifact, artifact.pk)
    append_log(
        run.pk, f"building environment {digest[:12]} with the {backend.name} backend"
    )
    started = time.monotonic()
    try:
        result = backend.build(
            dependency_hash=digest,
            python_lock=python_lock,
            npm_lock=npm_lock,
            run_id=run.pk,
            log=lambda line: append_log(run.pk, line),
        )
    except Exception:
        locking.release(Artifact, artifact.pk, owner, status=Artifact.Status.FAILED)
        raise
    locking.release(
        Artifact,
        artifact.pk,
        owner,
        status=Artifact.Status.READY,
        reference=result.reference,
        size_bytes=result.size_bytes,
        built_at=timezone.now(),
    )
    append_log(
        run.pk,
        f"built in {time.monotonic() - started:.2f}s ({result.size_bytes} bytes)",
    )
    artifact.refresh_from_db()
    return artifact, False


# --- batches ----------------------------------------------------------------


def existing_skills(skill_ids):
    """Return the skills with these ids, or raise naming every missing one."""
    skill_ids = list(dict.fromkeys(skill_ids))
    found = Skill.objects.in_bulk(skill_ids)
    missing = [skill_id for skill_id in skill_ids if skill_id not in found]
    if missing:
        names = ", ".join(f"'{skill_id}'" for skill_id in missing)
        raise SkillNotFoundError(
            f"Skill{'s' if len(missing) > 1 else ''} {names} "
            f"do{'' if len(missing) > 1 else 'es'} not exist.",
            details={"missing": missing},
        )
    return [found[skill_id] for skill_id in skill_ids]


def _union(manifests):
    """Return one manifest that declares what all ``manifests`` declare."""
    python_requirements, npm_dependencies = [], []
    for manifest in manifests:
        python_requirements += [req.text for req in manifest.python]
        npm_dependencies += [dep.text for dep in manifest.npm]
    return SkillManifest.build(
        id=manifests[0].id,
        name="shared environment",
        version="",
        python_requirements=python_requirements,
        npm_dependencies=npm_dependencies,
    )


def request_batch(*, skill_ids, mode, trigger, requested_by=None, force=False):
    """Start installs of several skills together and return the Batch.

    In shared mode the skills get one environment, so a conflict between
    any two of them blocks every run of the batch before anything is built.
    """
    if not skill_ids:
        raise InvalidManifestError("A batch needs at least one skill id.")
    skill_ids = list(dict.fromkeys(skill_ids))
    skills = existing_skills(skill_ids)
    manifests = [manifest_of(skill) for skill in skills]
    batch = Batch.objects.create(
        mode=mode, trigger=trigger, requested_by=requested_by, skill_ids=skill_ids
    )
    logger.info(
        "batch requested batch=%s mode=%s skills=%s", batch.pk, mode, len(skills)
    )

    if mode == Batch.Mode.SHARED:
        reports = find_conflicts(manifests, shared=True)
        if reports:
            with transaction.atomic():
                record_conflicts(reports, batch=batch)
                batch.error = (
                    f"{len(reports)} conflict(s) between the skills of the batch; "
                    f"nothing was built. {reports[0].message}"
                )
                batch.save(update_fields=["error"])
                for skill in skills:
                    run = InstallRun.objects.create(
                        skill=skill,
                        batch=batch,
                        trigger=Trigger.BATCH,
                        requested_by=requested_by,
                        python_requirements=skill.python_requirements,
                        npm_dependencies=skill.npm_dependencies,
                        previous_artifact=skill.active_artifact,
                    )
                    _finish(
                        run, Status.BLOCKED, error=batch.error, error_code="conflict"
                    )
            return batch
        union = _union(manifests)

    for skill in skills:
        try:
            request_install(
                skill_id=skill.pk,
                trigger=Trigger.BATCH,
                requested_by=requested_by,
                force=force,
                batch=batch,
                specs=union if mode == Batch.Mode.SHARED else None,
            )
        except SkillInstallError as exc:
            # One skill that cannot start does not stop the others.
            logger.info(
                "batch member refused batch=%s skill=%s code=%s",
                batch.pk,
                skill.pk,
                exc.code,
            )
            batch.error += f"{skill.pk}: {exc.message}\n"
    if batch.error:
        batch.save(update_fields=["error"])
    return batch


# --- rollback ---------------------------------------------------------------


def rollback_skill(
    *, skill_id, to_run=None, trigger=Trigger.CLI, requested_by=None, enqueue=True
):
    """Re-activate the environment of an earlier successful run of a skill.

    Without ``to_run``, the newest successful run whose environment differs
    from the active one is the target. An environment that was pruned is
    rebuilt from the run's stored lock by a worker.
    """
    backend = get_backend()
    with transaction.atomic():
        try:
            skill = Skill.objects.select_for_update().get(pk=skill_id)
        except Skill.DoesNotExist:
            raise SkillNotFoundError(f"Skill '{skill_id}' does not exist.") from None
        if skill.lock_run_id and not locking.is_expired(skill.lock_expires_at):
            raise LockBusyError(
                f"Skill '{skill_id}' is being installed by run {skill.lock_run_id}; "
                "roll back once it has finished."
            )

        good = InstallRun.objects.filter(
            skill=skill, status__in=[Status.SUCCEEDED, Status.ROLLED_BACK]
        ).exclude(dependency_hash="")
        if to_run is not None:
            target = good.filter(pk=getattr(to_run, "pk", to_run)).first()
            if target is None:
                raise NoRollbackTargetError(
                    f"Run {getattr(to_run, 'pk', to_run)} is not a successful run of "
                    f"skill '{skill_id}', so the skill cannot be rolled back to it.",
                )
        else:
            target = good.exclude(
                dependency_hash=getattr(skill.active_artifact, "dependency_hash", "")
            ).first()
            if target is None:
                raise NoRollbackTargetError(
                    f"Skill '{skill_id}' has no earlier successful environment to roll back to."
                )

        run = InstallRun.objects.create(
            skill=skill,
            kind=InstallRun.Kind.ROLLBACK,
            trigger=trigger,
            requested_by=requested_by,
            rollback_to=target,
            previous_artifact=skill.active_artifact,
            python_requirements=target.python_requirements,
            npm_dependencies=target.npm_dependencies,
            python_lock=target.python_lock,
            npm_lock=target.npm_lock,
            locked_versions=target.locked_versions,
            dependency_hash=target.dependency_hash,
        )
        append_log(run.pk, f"rollback of skill {skill_id} to run {target.pk} requested")
        artifact = Artifact.objects.filter(
            dependency_hash=target.dependency_hash
        ).first()
        if _reusable_artifact(artifact, backend):
            _activate(skill, run, artifact, cache_hit=True, source=target)
            return run

        skill.lock_owner = f"run-{run.pk}"
        skill.lock_run = run
        skill.lock_expires_at = locking.claim_expiry()
        skill.save(update_fields=["lock_owner", "lock_run", "lock_expires_at"])
    if enqueue:
        _enqueue(run)
    return run


def follow_run(run_id, *, timeout=None, poll=0.5):
    """Wait until a run finishes and return it.

    A run whose worker stopped renewing its claim is taken over on the way
    (marked stale), so a follower never waits on a dead worker forever.
    ``timeout`` in seconds returns the run as it is when it runs out.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    run = InstallRun.objects.get(pk=run_id)
    while run.status in InstallRun.IN_FLIGHT:
        if deadline is not None and time.monotonic() >= deadline:
            break
        time.sleep(poll)
        if Skill.objects.filter(
            pk=run.skill_id, lock_run=run, lock_expires_at__lte=timezone.now()
        ).exists():
            recover_stalled_runs()
        run.refresh_from_db()
    return run


# --- housekeeping -----------------------------------------------------------


def recover_stalled_runs():
    """Mark runs whose claim expired as stale and remove what they left."""
    backend = get_backend()
    recovered = 0
    now = timezone.now()
    for skill_id in Skill.objects.filter(lock_expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            skill = Skill.objects.select_for_update().get(pk=skill_id)
            if not locking.is_expired(skill.lock_expires_at) or not skill.lock_owner:
                continue
            _take_over_stalled(skill, backend)
            skill.save(update_fields=["lock_owner", "lock_run", "lock_expires_at"])
            recovered += 1
    return recovered


@dataclass
class PruneResult:
    removed: list
    freed_bytes: int
    kept: int


def prune_artifacts(*, keep_last=None, max_bytes=None):
    """Remove environments no skill uses, least recently used first.

    ``keep_last`` keeps that many of the newest unused environments;
    ``max_bytes`` removes unused ones only until all environments fit. With
    neither, every unused environment goes. One in use is never removed.
    """
    backend = get_backend()
    ready = Artifact.objects.filter(status=Artifact.Status.READY)
    in_use = set(
        Skill.objects.exclude(active_artifact=None).values_list(
            "active_artifact", flat=True
        )
    )
    unused = [a for a in ready.order_by("-last_used_at") if a.pk not in in_use]

    candidates = unused[keep_last:] if keep_last else list(unused)
    total = sum(a.size_bytes for a in ready)
    removed, freed = [], 0
    for artifact in reversed(candidates):  # least recently used first
        if max_bytes is not None and total - freed <= max_bytes:
            break
        with transaction.atomic():
            row = Artifact.objects.select_for_update().get(pk=artifact.pk)
            if (
                row.status != Artifact.Status.READY
                or Skill.objects.filter(active_artifact=row).exists()
            ):
                continue
            row.status = Artifact.Status.REMOVED
            row.save(update_fields=["status"])
        backend.remove(row.reference)
        removed.append(row)
        freed += row.size_bytes
        logger.info(
            "artifact pruned artifact=%s bytes=%s",
            row.dependency_hash[:12],
            row.size_bytes,
        )
    return PruneResult(
        removed=removed, freed_bytes=freed, kept=ready.count() - len(removed)
    )
