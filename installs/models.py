"""The records of skillinstall: skills, runs, batches, conflicts, artifacts
and security findings. State changes go through ``installs.services``."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Trigger(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    BATCH = "batch", "Batch"
    CLI = "cli", "CLI"


class Ecosystem(models.TextChoices):
    PYTHON = "python", "Python"
    NPM = "npm", "npm"


class Artifact(models.Model):
    """A built, content-addressed environment; many skills may share one."""

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        REMOVED = "removed", "Removed"

    dependency_hash = models.CharField(max_length=64, unique=True)
    backend = models.CharField(max_length=20)
    target = models.CharField(max_length=100, blank=True)
    reference = models.CharField(
        max_length=500, blank=True, help_text="Directory or image tag."
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.BUILDING
    )
    python_lock = models.TextField(blank=True)
    npm_lock = models.TextField(blank=True)
    locked_versions = models.JSONField(default=dict, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    # The claim of the run building this artifact, so that it is built once.
    lock_owner = models.CharField(max_length=100, blank=True)
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_used_at"]

    def __str__(self):
        return f"{self.backend}:{self.dependency_hash[:12]}"


class Skill(models.Model):
    """A skill imported from a marketplace and what it declares."""

    id = models.CharField(primary_key=True, max_length=214)
    name = models.CharField(max_length=200, blank=True)
    version = models.CharField(max_length=100, blank=True)
    python_requirements = models.JSONField(default=list, blank=True)
    npm_dependencies = models.JSONField(default=dict, blank=True)
    source = models.CharField(
        max_length=500, blank=True, help_text="Where the manifest came from."
    )
    active_artifact = models.ForeignKey(
        Artifact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="active_for",
    )
    # The claim of the run working on this skill; expired claims are taken over.
    lock_owner = models.CharField(max_length=100, blank=True)
    lock_run = models.ForeignKey(
        "InstallRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        permissions = [("trigger_install", "Can start installs and rollbacks")]

    def __str__(self):
        return self.id


class Batch(models.Model):
    """Runs requested together, isolated or into one shared environment."""

    class Mode(models.TextChoices):
        ISOLATED = "isolated", "Isolated"
        SHARED = "shared", "Shared"

    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.ISOLATED)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    skill_ids = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self):
        return f"batch {self.pk} ({self.mode}, {len(self.skill_ids)} skills)"


class InstallRun(models.Model):
    """One attempt to install (or roll back) one skill."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RESOLVING = "resolving", "Resolving"
        BUILDING = "building", "Building"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        BLOCKED = "blocked", "Blocked"
        ROLLED_BACK = "rolled_back", "Rolled back"
        STALE = "stale", "Stale"

    IN_FLIGHT = (Status.QUEUED, Status.RESOLVING, Status.BUILDING)
    FINISHED = (
        Status.SUCCEEDED,
        Status.FAILED,
        Status.BLOCKED,
        Status.ROLLED_BACK,
        Status.STALE,
    )

    class Kind(models.TextChoices):
        INSTALL = "install", "Install"
        ROLLBACK = "rollback", "Rollback"

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="runs")
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INSTALL)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    force = models.BooleanField(default=False)
    # What went in: the specs as declared when the run was made.
    python_requirements = models.JSONField(default=list, blank=True)
    npm_dependencies = models.JSONField(default=dict, blank=True)
    # Hash of specs, constraints, index and target: an unchanged input may
    # reuse a stored lock without resolving again.
    input_hash = models.CharField(max_length=64, blank=True, db_index=True)
    python_lock = models.TextField(blank=True)
    npm_lock = models.TextField(blank=True)
    locked_versions = models.JSONField(default=dict, blank=True)
    dependency_hash = models.CharField(max_length=64, blank=True, db_index=True)
    artifact = models.ForeignKey(
        Artifact, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    previous_artifact = models.ForeignKey(
        Artifact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollback_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cache_hit = models.BooleanField(default=False)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"run {self.pk} of {self.skill_id} ({self.status})"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def in_flight(self):
        return self.status in self.IN_FLIGHT


class Conflict(models.Model):
    """Specs on one package that no version satisfies, each with its source."""

    class Kind(models.TextChoices):
        WITHIN_SKILL = "within_skill", "Within one skill"
        ACROSS_BATCH = "across_batch", "Across a batch"
        PLATFORM = "platform", "Against platform constraints"
        ENVIRONMENT = "environment", "Against an installed environment"
        TRANSITIVE = "transitive", "Transitive (resolver)"

    ecosystem = models.CharField(max_length=20, choices=Ecosystem.choices)
    package = models.CharField(max_length=214, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # [{"spec": "numpy==1.21.0", "source": "acme/a"}, ...]
    specs = models.JSONField(default=list)
    message = models.TextField()
    explanation = models.TextField(blank=True, help_text="The resolver's own words.")
    skills = models.ManyToManyField(Skill, related_name="conflicts", blank=True)
    run = models.ForeignKey(
        InstallRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="conflicts",
    )
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.CASCADE, related_name="conflicts"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.ecosystem}:{self.package} ({self.kind})"


class Finding(models.Model):
    """A security finding on a run."""

    class Kind(models.TextChoices):
        ADVISORY = "advisory", "Advisory"
        TYPOSQUAT = "typosquat", "Typosquat"
        CONFUSION = "confusion", "Dependency confusion"
        SCRIPT = "script", "Install script"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    run = models.ForeignKey(
        InstallRun, on_delete=models.CASCADE, related_name="findings"
    )
    ecosystem = models.CharField(max_length=20, choices=Ecosystem.choices)
    package = models.CharField(max_length=214)
    version = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    advisory_id = models.CharField(max_length=100, blank=True)
    severity = models.CharField(max_length=20, choices=Severity.choices)
    message = models.TextField()
    blocked = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.ecosystem}:{self.package}"
