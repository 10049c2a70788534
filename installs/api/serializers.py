"""What the API reads from requests and writes in responses.

Request serializers check the shape of input; what a manifest may declare is
decided by ``installs.manifests`` alone, so the API, the admin and the
commands reject the same entries with the same messages.
"""

from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from installs import selectors
from installs.exceptions import InvalidManifestError
from installs.manifests import SKILL_ID_MAX_LENGTH, validate_skill_id
from installs.models import (
    Artifact,
    Batch,
    Conflict,
    Ecosystem,
    Finding,
    InstallRun,
    Skill,
)

STATES = selectors.SKILL_STATES
# Large enough for any row id, small enough for every database's integer.
MAX_ID = 2**63 - 1
RECENT_RUNS = 10

# The shape validate_skill_id accepts, for the schema; it also refuses "..".
SKILL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?$"
SKILL_ID_SCHEMA = {
    "type": "string",
    "pattern": SKILL_ID_PATTERN,
    "maxLength": SKILL_ID_MAX_LENGTH,
    "description": "'name' or 'owner/name'.",
}

_VERSIONS = {"type": "object", "additionalProperties": {"type": "string"}}
LOCKED_VERSIONS_SCHEMA = {
    "type": "object",
    "description": "Resolved versions by ecosystem, then by package name.",
    "properties": {"python": _VERSIONS, "npm": _VERSIONS},
}
NPM_SCHEMA = {
    "description": "npm package names to version ranges, or a list of "
    "'name@range' strings.",
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "array", "items": {"type": "string"}},
    ],
}
_SKILL_OBJECT = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": SKILL_ID_SCHEMA,
        "name": {"type": "string", "maxLength": 200},
        "version": {"type": "string", "maxLength": 100},
        "python": {"type": "array", "items": {"type": "string"}},
        "npm": NPM_SCHEMA,
    },
}
MANIFEST_SCHEMA = {
    "description": (
        'A skill object, a list of them, or {"skills": [...]}, as in a manifest file.'
    ),
    "anyOf": [
        _SKILL_OBJECT,
        {"type": "array", "items": _SKILL_OBJECT, "minItems": 1},
        {
            "type": "object",
            "required": ["skills"],
            "properties": {
                "skills": {"type": "array", "items": _SKILL_OBJECT, "minItems": 1}
            },
        },
    ],
}


def absolute_url(request, name, *args):
    """Return the absolute URL of a named API route."""
    url = reverse(f"api:{name}", args=args)
    return request.build_absolute_uri(url) if request is not None else url


# --- request bodies and query parameters -------------------------------------


def skill_id_parameter(name, description):
    """Return the schema of a skill id in a URL path, slash and all."""
    return OpenApiParameter(
        name,
        str,
        OpenApiParameter.PATH,
        pattern=SKILL_ID_PATTERN,
        description=f"{description}: 'name' or 'owner/name', the slash as is.",
    )


@extend_schema_field(SKILL_ID_SCHEMA)
class SkillIdField(serializers.CharField):
    """A skill id: ``name`` or ``owner/name``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", SKILL_ID_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return validate_skill_id(value)
        except InvalidManifestError as exc:
            raise serializers.ValidationError(exc.message) from exc


class InstallRequestSerializer(serializers.Serializer):
    skill_id = SkillIdField()
    force = serializers.BooleanField(
        default=False, help_text="Resolve and build again even on a cache hit."
    )


class BatchRequestSerializer(serializers.Serializer):
    skill_ids = serializers.ListField(
        child=SkillIdField(), allow_empty=False, min_length=1
    )
    mode = serializers.ChoiceField(
        choices=Batch.Mode.choices,
        default=Batch.Mode.ISOLATED,
        help_text="shared: one environment for all skills, so any conflict "
        "between them blocks the batch before anything is built.",
    )
    force = serializers.BooleanField(default=False)


@extend_schema_field(MANIFEST_SCHEMA)
class ManifestField(serializers.JSONField):
    """A manifest document, validated by ``installs.manifests``."""


@extend_schema_field(NPM_SCHEMA)
class NpmField(serializers.JSONField):
    """npm dependencies, validated by ``installs.manifests``."""


class CheckRequestSerializer(serializers.Serializer):
    manifest = ManifestField(required=False)
    skill_ids = serializers.ListField(
        child=SkillIdField(), allow_empty=False, min_length=1, required=False
    )
    shared = serializers.BooleanField(
        default=False, help_text="Check the skills as one environment."
    )
    against = SkillIdField(
        required=False,
        help_text="Also check against the resolved versions of this installed "
        "skill's environment.",
    )

    def validate(self, attrs):
        given = [key for key in ("manifest", "skill_ids") if key in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                "Give either 'manifest' or 'skill_ids', not "
                + ("both." if given else "neither.")
            )
        return attrs


class CheckRequestSchema(OpenApiSerializerExtension):
    """Say in the schema that a check takes a manifest or skill ids."""

    target_class = CheckRequestSerializer

    def map_serializer(self, auto_schema, direction):
        schema = super().map_serializer(auto_schema, direction)
        either = [{"required": ["manifest"]}, {"required": ["skill_ids"]}]
        return {**schema, "oneOf": either}


class SkillManifestSerializer(serializers.Serializer):
    """A skill object as in a manifest file (documentation of the body)."""

    id = SkillIdField()
    name = serializers.CharField(
        max_length=200, required=False, help_text="Defaults to the id."
    )
    version = serializers.CharField(max_length=100, required=False)
    python = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="PEP 508 requirements, such as 'numpy>=1.24,<2'.",
    )
    npm = NpmField(required=False)


class SkillUpdateSerializer(SkillManifestSerializer):
    """A skill object for PUT and PATCH; the id, if given, must not change."""

    id = SkillIdField(required=False)


class SkillFilterSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Text in the id or the name.",
    )
    state = serializers.ChoiceField(choices=STATES, required=False)


class RunFilterSerializer(serializers.Serializer):
    skill = SkillIdField(required=False)
    status = serializers.ChoiceField(choices=InstallRun.Status.choices, required=False)
    batch = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class ConflictFilterSerializer(serializers.Serializer):
    ecosystem = serializers.ChoiceField(choices=Ecosystem.choices, required=False)
    package = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=214,
        help_text="Exact name, any case.",
    )
    kind = serializers.ChoiceField(choices=Conflict.Kind.choices, required=False)
    skill = SkillIdField(required=False)


# --- responses ---------------------------------------------------------------


class ArtifactSerializer(serializers.ModelSerializer):
    locked_versions = serializers.SerializerMethodField()

    class Meta:
        model = Artifact
        fields = (
            "dependency_hash",
            "backend",
            "reference",
            "size_bytes",
            "locked_versions",
        )

    @extend_schema_field(LOCKED_VERSIONS_SCHEMA)
    def get_locked_versions(self, artifact):
        return artifact.locked_versions


class SpecRefSerializer(serializers.Serializer):
    spec = serializers.CharField()
    source = serializers.CharField(
        help_text="The skill id, 'platform constraints' or an installed environment."
    )


class ConflictReportSerializer(serializers.Serializer):
    """A conflict found by a dry run; nothing of it is stored."""

    ecosystem = serializers.ChoiceField(choices=Ecosystem.choices)
    package = serializers.CharField()
    kind = serializers.ChoiceField(choices=Conflict.Kind.choices)
    specs = SpecRefSerializer(many=True)
    message = serializers.CharField()


class ConflictSerializer(serializers.ModelSerializer):
    specs = SpecRefSerializer(many=True)
    skills = serializers.SlugRelatedField(slug_field="id", many=True, read_only=True)

    class Meta:
        model = Conflict
        fields = (
            "id",
            "ecosystem",
            "package",
            "kind",
            "specs",
            "message",
            "explanation",
            "skills",
            "run",
            "batch",
            "created_at",
        )


class FindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = (
            "ecosystem",
            "package",
            "version",
            "kind",
            "advisory_id",
            "severity",
            "message",
            "blocked",
        )


class RunSerializer(serializers.ModelSerializer):
    """A run as it appears in lists: what, who, when and how it ended."""

    url = serializers.SerializerMethodField()
    skill_id = serializers.CharField(read_only=True)
    requested_by = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = InstallRun
        fields = (
            "id",
            "url",
            "skill_id",
            "kind",
            "status",
            "trigger",
            "requested_by",
            "batch",
            "force",
            "cache_hit",
            "dependency_hash",
            "error",
            "error_code",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        )

    def get_url(self, run) -> str:
        return absolute_url(self.context.get("request"), "run-detail", run.pk)

    def get_requested_by(self, run) -> str | None:
        user = run.requested_by
        return user.get_username() if user is not None else None

    def get_duration_seconds(self, run) -> float | None:
        duration = run.duration
        return duration.total_seconds() if duration is not None else None


class RunDetailSerializer(RunSerializer):
    """A run with its inputs, locks, log, conflicts and findings."""

    locked_versions = serializers.SerializerMethodField()
    artifact = ArtifactSerializer(read_only=True, allow_null=True)
    previous_artifact = serializers.SlugRelatedField(
        slug_field="dependency_hash", read_only=True, allow_null=True
    )
    conflicts = ConflictSerializer(many=True, read_only=True)
    findings = FindingSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = RunSerializer.Meta.fields + (
            "python_requirements",
            "npm_dependencies",
            "python_lock",
            "npm_lock",
            "locked_versions",
            "artifact",
            "previous_artifact",
            "rollback_to",
            "worker",
            "log",
            "conflicts",
            "findings",
        )

    @extend_schema_field(LOCKED_VERSIONS_SCHEMA)
    def get_locked_versions(self, run):
        return run.locked_versions


class BatchOutcomeSerializer(serializers.Serializer):
    """What became of one skill of a batch."""

    skill_id = serializers.CharField()
    run = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(
        help_text="The run's status, or 'refused' when no run could start."
    )
    error = serializers.CharField(allow_blank=True)
    error_code = serializers.CharField(allow_blank=True)
    coalesced = serializers.BooleanField(
        help_text="The skill was already being installed; 'run' is that run."
    )


def batch_outcomes(batch):
    """Return one outcome per skill of ``batch``, in the order requested.

    A skill already being installed when the batch came was coalesced into
    the run in flight, which belongs to no batch: it is the skill's run
    created before the batch and not finished before it. A skill that could
    not start has a line of its own in the batch's error.
    """
    own = {run.skill_id: run for run in batch.runs.order_by("created_at", "id")}
    refused = {}
    for line in batch.error.splitlines():
        skill_id, _, message = line.partition(": ")
        refused.setdefault(skill_id, message)

    outcomes = []
    for skill_id in batch.skill_ids:
        run, coalesced = own.get(skill_id), False
        if run is None and skill_id not in refused:
            run = (
                InstallRun.objects.filter(
                    skill_id=skill_id, created_at__lte=batch.created_at
                )
                .exclude(finished_at__lt=batch.created_at)
                .order_by("-created_at", "-id")
                .first()
            )
            coalesced = run is not None
        if run is None:
            outcomes.append(
                {
                    "skill_id": skill_id,
                    "run": None,
                    "status": "refused",
                    "error": refused.get(skill_id, ""),
                    "error_code": "",
                    "coalesced": False,
                }
            )
            continue
        outcomes.append(
            {
                "skill_id": skill_id,
                "run": run.pk,
                "status": run.status,
                "error": run.error,
                "error_code": run.error_code,
                "coalesced": coalesced,
            }
        )
    return outcomes


class BatchSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    requested_by = serializers.SerializerMethodField()
    runs = serializers.SerializerMethodField()
    conflicts = ConflictSerializer(many=True, read_only=True)

    class Meta:
        model = Batch
        fields = (
            "id",
            "url",
            "mode",
            "trigger",
            "requested_by",
            "skill_ids",
            "error",
            "created_at",
            "runs",
            "conflicts",
        )

    def get_url(self, batch) -> str:
        return absolute_url(self.context.get("request"), "batch-detail", batch.pk)

    def get_requested_by(self, batch) -> str | None:
        user = batch.requested_by
        return user.get_username() if user is not None else None

    @extend_schema_field(BatchOutcomeSerializer(many=True))
    def get_runs(self, batch):
        return BatchOutcomeSerializer(batch_outcomes(batch), many=True).data


class SkillSerializer(serializers.ModelSerializer):
    """A skill as it appears in lists."""

    url = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    active_artifact = ArtifactSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Skill
        fields = (
            "id",
            "url",
            "name",
            "version",
            "source",
            "state",
            "active_artifact",
            "created_at",
            "updated_at",
        )

    def _last_run(self, skill):
        # Lists look up every skill's newest run in one query beforehand; a
        # skill missing from that lookup has no run at all.
        last_runs = self.context.get("last_runs")
        if last_runs is not None:
            return last_runs.get(skill.pk)
        return selectors.last_run(skill)

    def get_url(self, skill) -> str:
        return absolute_url(self.context.get("request"), "skill-detail", skill.pk)

    @extend_schema_field(serializers.ChoiceField(choices=STATES))
    def get_state(self, skill):
        return selectors.skill_state(skill, self._last_run(skill))


class SkillDetailSerializer(SkillSerializer):
    """A skill with its specs, recent runs and open conflicts."""

    python = serializers.ListField(
        source="python_requirements", child=serializers.CharField()
    )
    npm = serializers.JSONField(source="npm_dependencies")
    last_runs = serializers.SerializerMethodField()
    conflicts = serializers.SerializerMethodField()

    class Meta(SkillSerializer.Meta):
        fields = SkillSerializer.Meta.fields + (
            "python",
            "npm",
            "last_runs",
            "conflicts",
        )

    @extend_schema_field(RunSerializer(many=True))
    def get_last_runs(self, skill):
        runs = skill.runs.select_related("requested_by").order_by("-created_at", "-id")
        return RunSerializer(runs[:RECENT_RUNS], many=True, context=self.context).data

    @extend_schema_field(ConflictSerializer(many=True))
    def get_conflicts(self, skill):
        return ConflictSerializer(selectors.open_conflicts(skill), many=True).data


class SkillStatusSerializer(serializers.Serializer):
    """Where a skill's installation stands."""

    skill_id = serializers.CharField(source="pk")
    state = serializers.SerializerMethodField()
    active_artifact = ArtifactSerializer(allow_null=True)
    last_run = serializers.SerializerMethodField()
    conflicts = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=STATES))
    def get_state(self, skill):
        return selectors.skill_state(skill, self.context["last_run"])

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_last_run(self, skill):
        run = self.context["last_run"]
        return RunSerializer(run, context=self.context).data if run else None

    @extend_schema_field(ConflictSerializer(many=True))
    def get_conflicts(self, skill):
        return ConflictSerializer(selectors.open_conflicts(skill), many=True).data


class CheckResultSerializer(serializers.Serializer):
    conflicts = ConflictReportSerializer(many=True)
    checked = serializers.IntegerField(help_text="How many skills were checked.")
    ok = serializers.BooleanField(help_text="True when there is no conflict.")


# --- errors ------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The shape of every error response."""

    code = serializers.CharField(help_text="Stable, for clients to branch on.")
    message = serializers.CharField(help_text="One sentence naming the bad value.")
    details = serializers.DictField(
        help_text="Field errors, or data particular to the error."
    )


class ConflictErrorSerializer(ErrorSerializer):
    """A 409 for version conflicts: what clashes, and the blocked run."""

    conflicts = ConflictSerializer(many=True)
    run = RunSerializer(required=False)
    batch = BatchSerializer(required=False)
