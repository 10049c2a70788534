"""Admin pages for skills, runs, batches, conflicts, artifacts, findings."""

from django.contrib import admin

from installs.models import Artifact, Batch, Conflict, Finding, InstallRun, Skill


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the pipeline only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "version", "active_artifact", "updated_at"]
    search_fields = ["id", "name"]


@admin.register(InstallRun)
class InstallRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "skill", "kind", "status", "trigger", "cache_hit", "created_at"]
    list_filter = ["status", "trigger", "kind", "cache_hit"]
    search_fields = ["skill__id"]


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "mode", "trigger", "created_at"]


@admin.register(Conflict)
class ConflictAdmin(ReadOnlyAdmin):
    list_display = ["id", "ecosystem", "package", "kind", "created_at"]
    list_filter = ["ecosystem", "kind"]
    search_fields = ["package", "skills__id"]


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ["dependency_hash", "backend", "status", "size_bytes", "last_used_at"]
    list_filter = ["backend", "status"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "ecosystem", "package", "severity", "blocked"]
    list_filter = ["kind", "ecosystem", "severity", "blocked"]
