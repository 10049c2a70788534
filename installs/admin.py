"""Admin pages for skills, runs, batches, conflicts, artifacts and findings.

Actions and buttons call ``installs.services``; lists and pages read through
``installs.selectors``. Skills come from manifests (the import page) and
everything else is history the pipeline writes, so no page here edits a row
directly, for anyone, superusers included.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince

from installs import admin_views, selectors, services
from installs.admin_views import (
    ARTIFACT_TONES,
    SEVERITY_TONES,
    STATE_TONES,
    STATUS_TONES,
    badge,
    run_badge,
    run_link,
)
from installs.exceptions import SkillInstallError
from installs.models import (
    Artifact,
    Batch,
    Conflict,
    Ecosystem,
    Finding,
    InstallRun,
    Skill,
    Trigger,
)

Status = InstallRun.Status


class AdminMedia:
    css = {"all": ["installs/admin.css"]}


def seconds(run):
    """Return a run's duration as seconds with one decimal, or a dash."""
    if run.duration is None:
        return "-"
    return f"{run.duration.total_seconds():.1f}s"


def preformatted(text, **attrs):
    extra = format_html_join("", ' {}="{}"', attrs.items())
    return format_html('<pre class="si-pre"{}>{}</pre>', extra, text)


def artifact_link(artifact):
    if artifact is None:
        return "-"
    url = reverse("admin:installs_artifact_change", args=[artifact.pk])
    return format_html("<a href='{}'><code>{}</code></a>", url, str(artifact))


def skill_link(skill_id):
    url = reverse("admin:installs_skill_change", args=[skill_id])
    return format_html('<a href="{}">{}</a>', url, skill_id)


def versions_table(locked_versions):
    """Render {"python": {...}, "npm": {...}} as one table, or a dash."""
    rows = [
        (label, package, version)
        for ecosystem, label in Ecosystem.choices
        for package, version in sorted(
            ((locked_versions or {}).get(ecosystem) or {}).items()
        )
    ]
    if not rows:
        return "-"
    body = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", rows
    )
    return format_html(
        '<table class="si-table"><thead><tr><th>Ecosystem</th><th>Package</th>'
        "<th>Version</th></tr></thead><tbody>{}</tbody></table>",
        body,
    )


def npm_specs(dependencies):
    """Return npm dependencies as ``name@range`` lines, as a manifest has them."""
    if isinstance(dependencies, dict):
        return [f"{name}@{spec}" for name, spec in dependencies.items()]
    return list(dependencies or [])


def specs_list(items):
    if not items:
        return "-"
    return format_html(
        '<ul class="si-specs">{}</ul>',
        format_html_join("", "<li><code>{}</code></li>", ((item,) for item in items)),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the pipeline only: nobody adds, edits or deletes."""

    Media = AdminMedia

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline:
    extra = 0
    can_delete = False
    # Rows link to their object themselves; the admin's caption is noise.
    classes = ["si-quiet"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- skills -----------------------------------------------------------------


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(state, state.capitalize()) for state in selectors.SKILL_STATES]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return selectors.filter_by_state(queryset, self.value())


class HasEnvironmentFilter(admin.SimpleListFilter):
    title = "has environment"
    parameter_name = "has_environment"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(active_artifact__isnull=self.value() == "no")
        return queryset


class SkillChangeList(ChangeList):
    """Loads the newest run of every listed skill in one query."""

    def get_results(self, request):
        super().get_results(request)
        runs = selectors.latest_runs(self.result_list)
        for skill in self.result_list:
            skill.last_run = runs.get(skill.pk)


class SkillRunInline(ReadOnlyInline, admin.TabularInline):
    model = InstallRun
    fk_name = "skill"
    verbose_name_plural = "History of runs (newest first)"
    fields = [
        "run",
        "kind",
        "status_badge",
        "trigger",
        "requested_by",
        "created_at",
        "duration_display",
        "cache_hit",
        "error",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    @admin.display(description="Run")
    def run(self, obj):
        return run_link(obj)

    @admin.display(description="Duration")
    def duration_display(self, obj):
        return seconds(obj)

    @admin.display(description="Status")
    def status_badge(self, obj):
        return run_badge(obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    Media = AdminMedia
    list_display = [
        "id",
        "name",
        "version",
        "state_badge",
        "last_run_display",
        "active_environment",
    ]
    list_filter = [StateFilter, HasEnvironmentFilter]
    search_fields = ["id", "name"]
    actions = [
        "install",
        "force_rebuild",
        "check_conflicts",
        "check_shared_conflicts",
        "roll_back_to_previous",
    ]
    fieldsets = [
        (None, {"fields": ["id", "name", "version", "source"]}),
        ("Declared specs", {"fields": ["python_specs", "npm_specs"]}),
        (
            "Environment",
            {
                "fields": [
                    "state_badge",
                    "last_run_display",
                    "active_environment",
                    "locked_versions",
                    "conflicts_of_last_run",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [
        "id",
        "name",
        "version",
        "source",
        "python_specs",
        "npm_specs",
        "state_badge",
        "last_run_display",
        "active_environment",
        "locked_versions",
        "conflicts_of_last_run",
        "created_at",
        "updated_at",
    ]
    inlines = [SkillRunInline]

    # Skills come from manifests (the import page) and change only through
    # services, which validate every spec; the change form would not.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_trigger_permission(self, request):
        return admin_views.can_trigger(request)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("active_artifact")
        return selectors.with_last_run(queryset)

    def get_changelist(self, request, **kwargs):
        return SkillChangeList

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "import/",
                view(lambda request: admin_views.import_manifest(self, request)),
                name="installs_skill_import",
            ),
            path(
                "overview/",
                view(lambda request: admin_views.overview(self, request)),
                name="installs_overview",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "can_import": self.has_trigger_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def _last_run(self, obj):
        # The list preloads it (SkillChangeList); the change page asks once.
        if not hasattr(obj, "last_run"):
            obj.last_run = selectors.last_run(obj)
        return obj.last_run

    @admin.display(description="State")
    def state_badge(self, obj):
        state = selectors.skill_state(obj, self._last_run(obj))
        return badge(state, STATE_TONES[state], **{"data-state": state})

    @admin.display(description="Last run")
    def last_run_display(self, obj):
        run = self._last_run(obj)
        if run is None:
            return "-"
        return format_html(
            '{} <span class="si-muted">{}, {} ago</span>',
            run_link(run),
            run.get_status_display().lower(),
            timesince(run.created_at),
        )

    @admin.display(description="Active environment", ordering="active_artifact")
    def active_environment(self, obj):
        return artifact_link(obj.active_artifact)

    @admin.display(description="Python requirements")
    def python_specs(self, obj):
        return specs_list(obj.python_requirements)

    @admin.display(description="npm dependencies")
    def npm_specs(self, obj):
        return specs_list(npm_specs(obj.npm_dependencies))

    @admin.display(description="Locked versions")
    def locked_versions(self, obj):
        artifact = obj.active_artifact
        return versions_table(artifact.locked_versions if artifact else None)

    @admin.display(description="Conflicts of the last run")
    def conflicts_of_last_run(self, obj):
        conflicts = list(selectors.open_conflicts(obj))
        if not conflicts:
            return "-"
        rows = (
            (reverse("admin:installs_conflict_change", args=[c.pk]), c.message)
            for c in conflicts
        )
        return format_html(
            '<ul class="si-specs">{}</ul>',
            format_html_join("", '<li><a href="{}">{}</a></li>', rows),
        )

    # --- actions: each calls a service per skill and reports every outcome

    def _request_installs(self, request, queryset, *, force):
        for skill_id in queryset.values_list("pk", flat=True):
            try:
                run = services.request_install(
                    skill_id=skill_id,
                    trigger=Trigger.ADMIN,
                    requested_by=request.user,
                    force=force,
                )
            except SkillInstallError as exc:
                messages.error(request, f"{skill_id}: {exc.message}")
                continue
            self._report_run(request, run)

    def _report_run(self, request, run):
        text = format_html(
            "{}: {} is {}.", run.skill_id, run_link(run), run.get_status_display()
        )
        if run.status == Status.BLOCKED:
            messages.warning(request, format_html("{} {}", text, run.error))
        elif run.status in (Status.FAILED, Status.STALE):
            messages.error(request, format_html("{} {}", text, run.error))
        else:
            messages.success(request, text)

    @admin.action(description="Install selected skills", permissions=["trigger"])
    def install(self, request, queryset):
        self._request_installs(request, queryset, force=False)

    @admin.action(
        description="Force rebuild of selected skills", permissions=["trigger"]
    )
    def force_rebuild(self, request, queryset):
        self._request_installs(request, queryset, force=True)

    def _check(self, request, queryset, *, shared):
        skill_ids = list(queryset.values_list("pk", flat=True))
        try:
            result = services.check_skill_conflicts(skill_ids=skill_ids, shared=shared)
        except SkillInstallError as exc:
            messages.error(request, exc.message)
            return

        scope = "as one environment" if shared else "each on its own"
        if not result.conflicts:
            messages.success(
                request, f"No conflicts in {result.checked} skill(s) checked {scope}."
            )
            return
        for report in result.conflicts:
            messages.error(request, report.message)
        messages.warning(
            request,
            format_html(
                "{} conflict(s) in {} skill(s) checked {}; they are recorded under "
                '<a href="{}">conflicts</a>.',
                len(result.conflicts),
                result.checked,
                scope,
                reverse("admin:installs_conflict_changelist"),
            ),
        )

    @admin.action(
        description="Check conflicts of selected skills", permissions=["trigger"]
    )
    def check_conflicts(self, request, queryset):
        self._check(request, queryset, shared=False)

    @admin.action(
        description="Check conflicts of selected skills as one shared environment",
        permissions=["trigger"],
    )
    def check_shared_conflicts(self, request, queryset):
        self._check(request, queryset, shared=True)

    @admin.action(
        description="Roll back selected skills to their previous environment",
        permissions=["trigger"],
    )
    def roll_back_to_previous(self, request, queryset):
        for skill_id in queryset.values_list("pk", flat=True):
            try:
                run = services.rollback_skill(
                    skill_id=skill_id, trigger=Trigger.ADMIN, requested_by=request.user
                )
            except SkillInstallError as exc:
                messages.error(request, f"{skill_id}: {exc.message}")
                continue
            self._report_run(request, run)


# --- runs -------------------------------------------------------------------


class SkillFilter(admin.RelatedOnlyFieldListFilter):
    """The skills a conflict or finding names, without an empty choice."""

    include_empty_choice = False

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = "skill"


class ConflictInline(ReadOnlyInline, admin.TabularInline):
    model = Conflict
    fields = ["conflict", "ecosystem", "package", "kind", "message"]
    readonly_fields = fields

    @admin.display(description="Conflict")
    def conflict(self, obj):
        url = reverse("admin:installs_conflict_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.pk)


class FindingInline(ReadOnlyInline, admin.TabularInline):
    model = Finding
    fields = [
        "kind",
        "severity",
        "ecosystem",
        "package",
        "version",
        "blocked",
        "message",
    ]
    readonly_fields = fields


@admin.register(InstallRun)
class InstallRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "skill",
        "kind",
        "status_badge",
        "trigger",
        "requested_by",
        "created_at",
        "duration_display",
        "cache_hit",
    ]
    list_display_links = ["id"]
    list_filter = ["status", "kind", "trigger", "cache_hit"]
    list_select_related = ["skill", "requested_by"]
    search_fields = ["skill__id", "requested_by__username"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "skill_display",
                    "kind",
                    "status_badge",
                    "error_display",
                    "trigger",
                    "requested_by",
                    "batch",
                    "rollback_to",
                    "force",
                ]
            },
        ),
        (
            "Timing",
            {
                "fields": [
                    "created_at",
                    "started_at",
                    "finished_at",
                    "duration_display",
                    "worker",
                ]
            },
        ),
        (
            "Lock",
            {
                "fields": [
                    "cache_hit",
                    "dependency_hash",
                    "artifact_display",
                    "previous_artifact_display",
                    "changes",
                    "python_lock_display",
                    "npm_lock_summary",
                ]
            },
        ),
        ("Declared specs", {"fields": ["python_specs", "npm_specs"]}),
        ("Log", {"fields": ["log_display"]}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [ConflictInline, FindingInline]

    class Media:
        js = ["installs/run_progress.js"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/progress/",
                view(
                    lambda request, object_id: admin_views.run_progress(
                        self, request, object_id
                    )
                ),
                name="installs_installrun_progress",
            ),
            path(
                "<path:object_id>/rollback/",
                view(
                    lambda request, object_id: admin_views.rollback_to_run(
                        self, request, object_id
                    )
                ),
                name="installs_installrun_rollback",
            ),
            *super().get_urls(),
        ]

    def get_inline_instances(self, request, obj=None):
        # Most runs have neither conflicts nor findings; empty tables are noise.
        return [
            inline
            for inline in super().get_inline_instances(request, obj)
            if obj is not None and inline.get_queryset(request).filter(run=obj).exists()
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if run is not None:
            context.update(
                progress_url=reverse(
                    "admin:installs_installrun_progress", args=[run.pk]
                ),
                in_flight=run.in_flight,
                can_roll_back=(
                    run.status in (Status.SUCCEEDED, Status.ROLLED_BACK)
                    and bool(run.dependency_hash)
                    and admin_views.can_trigger(request)
                ),
                rollback_url=reverse(
                    "admin:installs_installrun_rollback", args=[run.pk]
                ),
            )
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="Skill")
    def skill_display(self, obj):
        return skill_link(obj.skill_id)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return run_badge(obj, id=f"run-status-{obj.pk}")

    @admin.display(description="Error")
    def error_display(self, obj):
        return format_html(
            '<span class="si-error" id="run-error-{}">{}</span>',
            obj.pk,
            obj.error or "-",
        )

    @admin.display(description="Duration")
    def duration_display(self, obj):
        return seconds(obj)

    @admin.display(description="Environment")
    def artifact_display(self, obj):
        return artifact_link(obj.artifact)

    @admin.display(description="Environment before the run")
    def previous_artifact_display(self, obj):
        return artifact_link(obj.previous_artifact)

    @admin.display(description="Lock of Python packages")
    def python_lock_display(self, obj):
        return preformatted(obj.python_lock) if obj.python_lock else "-"

    @admin.display(description="Lock of npm packages")
    def npm_lock_summary(self, obj):
        versions = (obj.locked_versions or {}).get(Ecosystem.NPM) or {}
        if not obj.npm_lock and not versions:
            return "-"
        try:
            lockfile_version = json.loads(obj.npm_lock).get("lockfileVersion", "?")
        except (ValueError, AttributeError):
            lockfile_version = "?"
        packages = ", ".join(f"{name}@{v}" for name, v in sorted(versions.items()))
        return format_html(
            "{} package(s), package-lock.json version {}: <code>{}</code>",
            len(versions),
            lockfile_version,
            packages or "-",
        )

    @admin.display(description="Changes since the previous good run")
    def changes(self, obj):
        changes = selectors.lock_changes(obj)
        if changes is None:
            return "-"
        previous = (
            format_html("against {}", run_link(changes.previous))
            if changes.previous
            else "first successful environment of this skill"
        )
        rows = [
            (kind, c.ecosystem, c.package, c.before or "-", c.after or "-")
            for kind, items in (
                ("added", changes.added),
                ("removed", changes.removed),
                ("upgraded", changes.upgraded),
                ("downgraded", changes.downgraded),
            )
            for c in items
        ]
        if not rows:
            return format_html(
                "No change ({}; {} package(s) unchanged).", previous, changes.unchanged
            )
        body = format_html_join(
            "",
            '<tr class="si-change si-change--{0}"><td>{0}</td><td>{1}</td>'
            "<td>{2}</td><td><code>{3}</code></td><td><code>{4}</code></td></tr>",
            rows,
        )
        return format_html(
            '<p class="si-muted">{}; {} package(s) unchanged.</p>'
            '<table class="si-table si-changes"><thead><tr><th>Change</th>'
            "<th>Ecosystem</th><th>Package</th><th>Before</th><th>After</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            previous,
            changes.unchanged,
            body,
        )

    @admin.display(description="Python requirements")
    def python_specs(self, obj):
        return specs_list(obj.python_requirements)

    @admin.display(description="npm dependencies")
    def npm_specs(self, obj):
        return specs_list(npm_specs(obj.npm_dependencies))

    @admin.display(description="Log")
    def log_display(self, obj):
        return preformatted(obj.log, id=f"run-log-{obj.pk}")


# --- batches, conflicts, findings, artifacts ----------------------------------


class BatchRunInline(ReadOnlyInline, admin.TabularInline):
    model = InstallRun
    fk_name = "batch"
    verbose_name_plural = "Outcome per skill"
    fields = ["run", "skill", "status_badge", "cache_hit", "error"]
    readonly_fields = fields
    ordering = ["skill_id"]

    @admin.display(description="Run")
    def run(self, obj):
        return run_link(obj)

    @admin.display(description="Status")
    def status_badge(self, obj):
        return run_badge(obj)


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "mode",
        "trigger",
        "requested_by",
        "skill_count",
        "outcome",
        "created_at",
    ]
    list_filter = ["mode", "trigger"]
    list_select_related = ["requested_by"]
    fields = ["mode", "trigger", "requested_by", "skill_ids", "error", "created_at"]
    readonly_fields = fields
    inlines = [BatchRunInline, ConflictInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("runs")

    @admin.display(description="Skills")
    def skill_count(self, obj):
        return len(obj.skill_ids)

    @admin.display(description="Outcome")
    def outcome(self, obj):
        counts = {}
        for run in obj.runs.all():
            counts[run.status] = counts.get(run.status, 0) + 1
        if not counts:
            return "-"
        return format_html_join(
            " ",
            "{}",
            (
                (
                    badge(
                        f"{total} {Status(status).label.lower()}", STATUS_TONES[status]
                    ),
                )
                for status, total in sorted(counts.items())
            ),
        )


@admin.register(Conflict)
class ConflictAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "package",
        "ecosystem",
        "kind",
        "skills_display",
        "summary",
        "run_display",
        "created_at",
    ]
    list_filter = [
        "ecosystem",
        "kind",
        ("package", admin.AllValuesFieldListFilter),
        ("skills", SkillFilter),
    ]
    list_select_related = ["run"]
    search_fields = ["package", "skills__id", "message"]
    fields = [
        "ecosystem",
        "package",
        "kind",
        "skills_display",
        "specs_table",
        "message",
        "explanation_display",
        "run_display",
        "batch",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("skills")

    @admin.display(description="Skills")
    def skills_display(self, obj):
        return (
            format_html_join(
                ", ", "{}", ((skill_link(skill.pk),) for skill in obj.skills.all())
            )
            or "-"
        )

    @admin.display(description="What failed")
    def summary(self, obj):
        return Truncator(obj.message).chars(160)

    @admin.display(description="Run")
    def run_display(self, obj):
        return run_link(obj.run) if obj.run_id else "-"

    @admin.display(description="Clashing specs")
    def specs_table(self, obj):
        rows = [(ref.get("spec", ""), ref.get("source", "")) for ref in obj.specs]
        if not rows:
            return "-"
        return format_html(
            '<table class="si-table"><thead><tr><th>Spec</th><th>From</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td><code>{}</code></td><td>{}</td></tr>", rows),
        )

    @admin.display(description="Resolver's explanation")
    def explanation_display(self, obj):
        return preformatted(obj.explanation) if obj.explanation else "-"


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "severity_badge",
        "ecosystem",
        "package",
        "version",
        "advisory_id",
        "blocked",
        "skill",
        "run_display",
    ]
    list_filter = [
        "ecosystem",
        "kind",
        "severity",
        "blocked",
        ("package", admin.AllValuesFieldListFilter),
        ("run__skill", SkillFilter),
    ]
    list_select_related = ["run"]
    search_fields = ["package", "advisory_id", "run__skill__id"]

    @admin.display(description="Severity", ordering="severity")
    def severity_badge(self, obj):
        return badge(obj.get_severity_display(), SEVERITY_TONES[obj.severity])

    @admin.display(description="Skill", ordering="run__skill")
    def skill(self, obj):
        return skill_link(obj.run.skill_id)

    @admin.display(description="Run")
    def run_display(self, obj):
        return run_link(obj.run)


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = [
        "short_hash",
        "backend",
        "status_badge",
        "size",
        "last_used_at",
        "skills_using",
    ]
    list_filter = ["backend", "status"]
    search_fields = ["dependency_hash", "active_for__id"]
    fields = [
        "dependency_hash",
        "backend",
        "target",
        "reference",
        "status_badge",
        "size",
        "skills_using",
        "versions",
        "python_lock_display",
        "created_at",
        "built_at",
        "last_used_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("active_for")

    @admin.display(description="Dependency hash", ordering="dependency_hash")
    def short_hash(self, obj):
        return format_html('<code title="{}">{}</code>', obj.dependency_hash, obj)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), ARTIFACT_TONES[obj.status])

    @admin.display(description="Size", ordering="size_bytes")
    def size(self, obj):
        return filesizeformat(obj.size_bytes)

    @admin.display(description="Skills using it")
    def skills_using(self, obj):
        return (
            format_html_join(
                ", ", "{}", ((skill_link(skill.pk),) for skill in obj.active_for.all())
            )
            or "-"
        )

    @admin.display(description="Locked versions")
    def versions(self, obj):
        return versions_table(obj.locked_versions)

    @admin.display(description="Python lock")
    def python_lock_display(self, obj):
        return preformatted(obj.python_lock) if obj.python_lock else "-"
