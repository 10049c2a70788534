"""Admin views that are not a model's list or change page, and the badges
and links that those views and the ModelAdmins in ``installs.admin`` share.

Each view checks the permission it needs, calls a service or a selector and
renders or redirects; the ModelAdmins route to them from ``get_urls``.
"""

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from installs import selectors, services
from installs.exceptions import InvalidManifestError, SkillInstallError
from installs.forms import ManifestImportForm
from installs.models import Artifact, Finding, InstallRun, Trigger

logger = logging.getLogger(__name__)

Status = InstallRun.Status

# One tone per outcome; the stylesheet colours the tones, not the statuses.
STATE_TONES = {
    selectors.STATE_INSTALLED: "ok",
    selectors.STATE_BUILDING: "busy",
    selectors.STATE_FAILED: "bad",
    selectors.STATE_BLOCKED: "warn",
    selectors.STATE_NEVER: "none",
}
STATUS_TONES = {
    Status.QUEUED: "busy",
    Status.RESOLVING: "busy",
    Status.BUILDING: "busy",
    Status.SUCCEEDED: "ok",
    Status.ROLLED_BACK: "ok",
    Status.FAILED: "bad",
    Status.STALE: "bad",
    Status.BLOCKED: "warn",
}
ARTIFACT_TONES = {
    Artifact.Status.READY: "ok",
    Artifact.Status.BUILDING: "busy",
    Artifact.Status.FAILED: "bad",
    Artifact.Status.REMOVED: "none",
}
SEVERITY_TONES = {
    Finding.Severity.LOW: "none",
    Finding.Severity.MEDIUM: "warn",
    Finding.Severity.HIGH: "bad",
    Finding.Severity.CRITICAL: "bad",
}


def badge(text, tone, **attrs):
    """Return a coloured label; ``attrs`` become HTML attributes."""
    extra = format_html_join("", ' {}="{}"', attrs.items())
    return format_html(
        '<span class="si-badge si-badge--{}"{}>{}</span>', tone, extra, text
    )


def run_badge(run, **attrs):
    """Return the status badge of a run."""
    return badge(
        run.get_status_display(),
        STATUS_TONES.get(run.status, "none"),
        **{"data-status": run.status, **attrs},
    )


def can_trigger(request):
    """Return True if the user may start installs and rollbacks."""
    return request.user.has_perm("installs.trigger_install")


def run_link(run):
    """Return an admin link to a run, for messages and lists."""
    url = reverse("admin:installs_installrun_change", args=[run.pk])
    return format_html('<a href="{}">run {}</a>', url, run.pk)


def _context(model_admin, request, **extra):
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "app_label": model_admin.model._meta.app_label,
        **extra,
    }


def import_manifest(model_admin, request):
    """Create or update skills from a pasted or uploaded manifest."""
    if not can_trigger(request):
        raise PermissionDenied

    form = ManifestImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data, source = form.manifest
        try:
            result = services.import_manifest(data, source=source)
        except InvalidManifestError as exc:
            form.add_manifest_error(exc)
        else:
            logger.info(
                "manifest imported user=%s created=%s updated=%s",
                request.user.pk,
                len(result.created),
                len(result.updated),
            )
            messages.success(request, _import_summary(result))
            return HttpResponseRedirect(reverse("admin:installs_skill_changelist"))

    context = _context(
        model_admin,
        request,
        title="Import manifest",
        form=form,
        media=model_admin.media + form.media,
    )
    return TemplateResponse(
        request, "admin/installs/skill/import_manifest.html", context
    )


def _import_summary(result):
    parts = []
    for label, ids in (
        ("created", result.created),
        ("updated", result.updated),
        ("unchanged", result.unchanged),
    ):
        if ids:
            parts.append(f"{label} {', '.join(ids)}")
    count = len(result.skill_ids)
    return f"Imported {count} skill{'s' if count != 1 else ''}: {'; '.join(parts)}."


def overview(model_admin, request):
    """Show counts of runs and skills, recent failures and disk use."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied

    summary = selectors.overview()
    context = _context(
        model_admin,
        request,
        title="Install overview",
        overview=summary,
        runs_by_status=[
            (status, badge(label, STATUS_TONES[status]), count)
            for status, label, count in summary.runs_by_status
        ],
        skills_by_state=[
            (state, badge(state, STATE_TONES[state]), count)
            for state, count in summary.skills_by_state
        ],
        recent_failures=[(run, run_badge(run)) for run in summary.recent_failures],
        media=model_admin.media,
    )
    return TemplateResponse(request, "admin/installs/overview.html", context)


def run_progress(model_admin, request, object_id):
    """Return a run's status and log as JSON, for the page that polls it."""
    run = model_admin.get_object(request, object_id)
    if run is None:
        raise Http404(f"Run {object_id} does not exist.")
    if not model_admin.has_view_permission(request, run):
        raise PermissionDenied

    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_label": run.get_status_display(),
            "tone": STATUS_TONES.get(run.status, "none"),
            "in_flight": run.in_flight,
            "log": run.log,
            "error": run.error,
            "cache_hit": run.cache_hit,
            "duration": _seconds(run.duration),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
    )


def _seconds(duration):
    return round(duration.total_seconds(), 2) if duration is not None else None


def rollback_to_run(model_admin, request, object_id):
    """Roll the run's skill back to the environment of this run."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not can_trigger(request):
        raise PermissionDenied
    run = model_admin.get_object(request, object_id)
    if run is None:
        raise Http404(f"Run {object_id} does not exist.")

    try:
        rollback = services.rollback_skill(
            skill_id=run.skill_id,
            to_run=run,
            trigger=Trigger.ADMIN,
            requested_by=request.user,
        )
    except SkillInstallError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(
            reverse("admin:installs_installrun_change", args=[run.pk])
        )

    messages.success(
        request,
        format_html(
            "Rolling skill {} back to run {}: {} is {}.",
            run.skill_id,
            run.pk,
            run_link(rollback),
            rollback.get_status_display().lower(),
        ),
    )
    return HttpResponseRedirect(
        reverse("admin:installs_installrun_change", args=[rollback.pk])
    )
