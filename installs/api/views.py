"""REST endpoints: thin views over ``installs.services`` and the selectors.

The ``auto-install`` endpoints start work and answer how it stands; the
resource endpoints list and show skills, runs, batches and conflicts.
"""

import json

from django.db.models import Q
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from installs import manifests, selectors, services
from installs.api import serializers as api
from installs.api.exceptions import AlreadyExists, conflict_data, error_body
from installs.api.permissions import CanTriggerInstall
from installs.exceptions import InvalidManifestError
from installs.models import Batch, Conflict, InstallRun, Skill, Trigger

Status = InstallRun.Status

_ERROR_DESCRIPTIONS = {
    400: "Bad input; 'details' has the field errors.",
    401: "No credentials, or invalid ones.",
    403: "Logged in, but without the permission this needs.",
    404: "No such skill, run, batch or conflict.",
    409: "The request clashes with the current state.",
    415: "The body is not JSON.",
}


SKILL_PATH = api.skill_id_parameter("id", "The skill")


def errors(*codes):
    """Return schema responses for these error statuses, plus 401."""
    return {
        code: OpenApiResponse(
            api.ErrorSerializer, description=_ERROR_DESCRIPTIONS[code]
        )
        for code in sorted({401, *codes})
    }


def conflict_response(description):
    return {409: OpenApiResponse(api.ConflictErrorSerializer, description=description)}


def skill_id_from_path(value, field="skill_id"):
    """Return the skill id in a URL, or raise a 400 naming it."""
    try:
        return manifests.validate_skill_id(value)
    except InvalidManifestError as exc:
        raise serializers.ValidationError({field: [exc.message]}) from exc


def validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def run_response(request, run):
    """Answer with a run: 202 and where to poll while in flight, else 200."""
    body = api.RunSerializer(run, context={"request": request}).data
    if run.status in InstallRun.IN_FLIGHT:
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]}
        )
    return Response(body, status=status.HTTP_200_OK)


class WriteView:
    """Views that change state: JSON bodies, and the trigger permission."""

    parser_classes = (JSONParser,)
    permission_classes = (CanTriggerInstall,)


# --- auto-install ------------------------------------------------------------


class InstallView(WriteView, APIView):
    """Start an install of one skill, or join the run already in flight."""

    @extend_schema(
        operation_id="auto_install_install",
        summary="Install one skill",
        request=api.InstallRequestSerializer,
        examples=[
            OpenApiExample(
                "Install", value={"skill_id": "acme/web-scraper"}, request_only=True
            )
        ],
        responses={
            200: OpenApiResponse(
                api.RunSerializer, description="Cache hit: the run already succeeded."
            ),
            202: OpenApiResponse(
                api.RunSerializer,
                description="Queued, or already in flight (the same run); the "
                "Location header is the run to poll.",
            ),
            **errors(400, 403, 404, 415),
            **conflict_response("The skill's own specs clash; the run is blocked."),
        },
    )
    def post(self, request):
        data = validated(api.InstallRequestSerializer, request.data)
        run = services.request_install(
            skill_id=data["skill_id"],
            trigger=Trigger.API,
            requested_by=request.user,
            force=data["force"],
        )
        if run.status == Status.BLOCKED and run.error_code == "conflict":
            body = api.RunSerializer(run, context={"request": request}).data
            return Response(
                error_body(
                    "conflict",
                    run.error,
                    {"skill_id": run.skill_id, "run": run.pk},
                    conflicts=[conflict_data(c) for c in run.conflicts.all()],
                    run=body,
                ),
                status=status.HTTP_409_CONFLICT,
                headers={"Location": body["url"]},
            )
        return run_response(request, run)


class BatchInstallView(WriteView, APIView):
    """Start installs of several skills, isolated or into one environment."""

    @extend_schema(
        operation_id="auto_install_batch",
        summary="Install several skills together",
        request=api.BatchRequestSerializer,
        examples=[
            OpenApiExample(
                "Shared environment",
                value={
                    "skill_ids": ["acme/web-scraper", "acme/pdf-reader"],
                    "mode": "shared",
                },
                request_only=True,
            )
        ],
        responses={
            202: OpenApiResponse(
                api.BatchSerializer,
                description="The batch with one outcome per skill; the Location "
                "header is the batch.",
            ),
            **errors(400, 403, 404, 415),
            **conflict_response(
                "Shared mode: the skills clash, every run is blocked and nothing "
                "was built."
            ),
        },
    )
    def post(self, request):
        data = validated(api.BatchRequestSerializer, request.data)
        batch = services.request_batch(
            skill_ids=data["skill_ids"],
            mode=data["mode"],
            trigger=Trigger.API,
            requested_by=request.user,
            force=data["force"],
        )
        body = api.BatchSerializer(batch, context={"request": request}).data
        headers = {"Location": body["url"]}
        conflicts = list(batch.conflicts.all())
        if batch.mode == Batch.Mode.SHARED and conflicts:
            return Response(
                error_body(
                    "conflict",
                    batch.error,
                    {"batch": batch.pk},
                    conflicts=[conflict_data(c) for c in conflicts],
                    batch=body,
                ),
                status=status.HTTP_409_CONFLICT,
                headers=headers,
            )
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)


class SkillStatusView(APIView):
    """Tell where a skill's installation stands."""

    @extend_schema(
        operation_id="auto_install_status",
        summary="Where a skill's installation stands",
        parameters=[api.skill_id_parameter("skill_id", "The skill")],
        responses={200: api.SkillStatusSerializer, **errors(400, 404)},
    )
    def get(self, request, skill_id):
        skill = services.get_skill(skill_id_from_path(skill_id))
        context = {"request": request, "last_run": selectors.last_run(skill)}
        return Response(api.SkillStatusSerializer(skill, context=context).data)


class CheckView(APIView):
    """Find the conflicts of a manifest or of stored skills; store nothing.

    Reading is enough to call it, since nothing changes.
    """

    parser_classes = (JSONParser,)

    @extend_schema(
        operation_id="auto_install_check",
        summary="Find conflicts without storing anything",
        request=api.CheckRequestSerializer,
        examples=[
            OpenApiExample(
                "A manifest as one environment",
                value={
                    "manifest": {
                        "skills": [
                            {"id": "acme/a", "python": ["numpy==1.21.0"]},
                            {"id": "acme/b", "python": ["numpy>=1.24"]},
                        ]
                    },
                    "shared": True,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Stored skills against an installed one",
                value={"skill_ids": ["acme/pdf-reader"], "against": "acme/web-scraper"},
                request_only=True,
            ),
        ],
        responses={200: api.CheckResultSerializer, **errors(400, 404, 415)},
    )
    def post(self, request):
        data = validated(api.CheckRequestSerializer, request.data)
        if "manifest" in data:
            # Through the loader, so the size limit of manifest files applies.
            checked = manifests.load_manifest(json.dumps(data["manifest"]))
        else:
            skills = services.existing_skills(data["skill_ids"])
            checked = [services.manifest_of(skill) for skill in skills]

        against = None
        if "against" in data:
            against = services.get_skill(data["against"])
            if against.active_artifact_id is None:
                raise serializers.ValidationError(
                    {
                        "against": [
                            (
                                f"Skill '{against.pk}' has no installed "
                                "environment to check against."
                            )
                        ]
                    }
                )

        reports = services.find_conflicts(
            checked, shared=data["shared"], against=against
        )
        return Response(
            {
                "conflicts": [report.as_dict() for report in reports],
                "checked": len(checked),
                "ok": not reports,
            }
        )


# --- skills ------------------------------------------------------------------


class SkillListView(WriteView, generics.ListAPIView):
    """List skills, or create one from a manifest's skill object."""

    serializer_class = api.SkillSerializer

    def get_queryset(self):
        filters = validated(api.SkillFilterSerializer, self.request.query_params)
        queryset = selectors.with_last_run(
            Skill.objects.select_related("active_artifact")
        )
        if filters.get("q"):
            text = filters["q"]
            queryset = queryset.filter(Q(id__icontains=text) | Q(name__icontains=text))
        if filters.get("state"):
            queryset = selectors.filter_by_state(queryset, filters["state"])
        return queryset.order_by("id")

    def get_serializer(self, *args, **kwargs):
        # A page of skills: their newest runs come in one query, not one each.
        if args and isinstance(args[0], list):
            kwargs["context"] = {
                **self.get_serializer_context(),
                "last_runs": selectors.latest_runs(args[0]),
            }
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        summary="List skills",
        parameters=[api.SkillFilterSerializer],
        responses={200: api.SkillSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a skill from a manifest's skill object",
        request=api.SkillManifestSerializer,
        examples=[
            OpenApiExample(
                "A skill",
                value={
                    "id": "acme/web-scraper",
                    "name": "Web scraper",
                    "version": "1.2.0",
                    "python": ["requests>=2.31", "beautifulsoup4==4.12.3"],
                    "npm": {"lodash": "^4.17.21"},
                },
                request_only=True,
            )
        ],
        responses={
            201: api.SkillDetailSerializer,
            **errors(400, 403, 415),
            409: OpenApiResponse(
                api.ErrorSerializer, description="A skill with this id exists."
            ),
        },
    )
    def post(self, request):
        manifest = manifests.parse_skill(request.data, source=_source(request))
        if Skill.objects.filter(pk=manifest.id).exists():
            raise AlreadyExists(
                f"Skill '{manifest.id}' already exists; change it with PUT or "
                f"PATCH on /api/skills/{manifest.id}."
            )
        services.save_skills([manifest], source=_source(request))

        skill = services.get_skill(manifest.id)
        body = api.SkillDetailSerializer(skill, context={"request": request}).data
        return Response(
            body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]}
        )


def _source(request):
    return f"api:{request.user.get_username()}"


class SkillDetailView(WriteView, APIView):
    """Show a skill, or change what it declares."""

    def get_skill(self, pk):
        return services.get_skill(skill_id_from_path(pk, field="id"))

    @extend_schema(
        summary="A skill with its specs, state, environment and recent runs",
        parameters=[SKILL_PATH],
        responses={200: api.SkillDetailSerializer, **errors(400, 404)},
    )
    def get(self, request, pk):
        skill = self.get_skill(pk)
        return Response(
            api.SkillDetailSerializer(skill, context={"request": request}).data
        )

    @extend_schema(
        summary="Replace what a skill declares",
        parameters=[SKILL_PATH],
        description="Fields left out take their defaults; the id cannot change.",
        request=api.SkillUpdateSerializer,
        responses={200: api.SkillDetailSerializer, **errors(400, 403, 404, 415)},
    )
    def put(self, request, pk):
        return self._update(request, pk, partial=False)

    @extend_schema(
        summary="Change some of what a skill declares",
        parameters=[SKILL_PATH],
        description="Fields left out keep their values; the id cannot change.",
        request=api.SkillUpdateSerializer,
        responses={200: api.SkillDetailSerializer, **errors(400, 403, 404, 415)},
    )
    def patch(self, request, pk):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk, *, partial):
        skill = self.get_skill(pk)
        if not isinstance(request.data, dict):
            raise InvalidManifestError(
                "A skill entry must be a JSON object, not "
                f"{type(request.data).__name__}."
            )
        if "id" in request.data and request.data["id"] != skill.pk:
            raise serializers.ValidationError(
                {
                    "id": [
                        (
                            f"The id of skill '{skill.pk}' cannot change (got "
                            f"{request.data['id']!r})."
                        )
                    ]
                }
            )

        declared = {}
        if partial:
            declared = {
                "name": skill.name,
                "version": skill.version,
                "python": skill.python_requirements,
                "npm": skill.npm_dependencies,
            }
        declared.update(request.data)
        declared["id"] = skill.pk
        manifest = manifests.parse_skill(declared, source=_source(request))
        services.save_skills([manifest], source=_source(request))

        skill = services.get_skill(skill.pk)
        return Response(
            api.SkillDetailSerializer(skill, context={"request": request}).data
        )


# --- runs, batches, conflicts ------------------------------------------------


class ObjectLookup:
    """Say which object is missing, rather than Django's generic message."""

    label = ""

    def get_object(self):
        pk = self.kwargs["pk"]
        found = self.get_queryset().filter(pk=pk).first()
        if found is None:
            raise NotFound(f"{self.label} {pk} does not exist.")
        return found


class RunListView(generics.ListAPIView):
    """List install and rollback runs."""

    serializer_class = api.RunSerializer

    def get_queryset(self):
        filters = validated(api.RunFilterSerializer, self.request.query_params)
        queryset = InstallRun.objects.select_related("requested_by")
        if "skill" in filters:
            queryset = queryset.filter(skill_id=filters["skill"])
        if "status" in filters:
            queryset = queryset.filter(status=filters["status"])
        if "batch" in filters:
            queryset = queryset.filter(batch_id=filters["batch"])
        return queryset

    @extend_schema(
        summary="List runs, newest first",
        parameters=[api.RunFilterSerializer],
        responses={200: api.RunSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RunDetailView(ObjectLookup, generics.RetrieveAPIView):
    """Show one run in full."""

    label = "Run"
    serializer_class = api.RunDetailSerializer
    queryset = InstallRun.objects.select_related(
        "requested_by", "artifact", "previous_artifact"
    ).prefetch_related("conflicts__skills", "findings")

    @extend_schema(
        summary="A run with its log, locks, timings and outcome",
        responses={200: api.RunDetailSerializer, **errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RunRollbackView(ObjectLookup, WriteView, generics.GenericAPIView):
    """Make a run's environment the skill's active one again."""

    label = "Run"
    queryset = InstallRun.objects.all()
    serializer_class = api.RunSerializer

    @extend_schema(
        operation_id="runs_rollback",
        summary="Roll the run's skill back to this run's environment",
        request=None,
        responses={
            200: OpenApiResponse(
                api.RunSerializer,
                description="The environment still existed and is active again.",
            ),
            202: OpenApiResponse(
                api.RunSerializer,
                description="The environment is rebuilt from the run's lock; the "
                "Location header is the new run.",
            ),
            **errors(403, 404),
            409: OpenApiResponse(
                api.ErrorSerializer,
                description="The run is not a successful one (no_rollback_target), "
                "or the skill is being installed (busy).",
            ),
        },
    )
    def post(self, request, pk):
        target = self.get_object()
        run = services.rollback_skill(
            skill_id=target.skill_id,
            to_run=target,
            trigger=Trigger.API,
            requested_by=request.user,
        )
        return run_response(request, run)


class BatchListView(generics.ListAPIView):
    """List batches."""

    serializer_class = api.BatchSerializer
    queryset = Batch.objects.select_related("requested_by").prefetch_related(
        "conflicts__skills"
    )

    @extend_schema(
        summary="List batches, newest first",
        responses={200: api.BatchSerializer(many=True), **errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BatchDetailView(ObjectLookup, generics.RetrieveAPIView):
    """Show one batch."""

    label = "Batch"
    serializer_class = api.BatchSerializer
    queryset = BatchListView.queryset

    @extend_schema(
        summary="A batch with one outcome per skill and its conflicts",
        responses={200: api.BatchSerializer, **errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ConflictListView(generics.ListAPIView):
    """List recorded conflicts."""

    serializer_class = api.ConflictSerializer

    def get_queryset(self):
        filters = validated(api.ConflictFilterSerializer, self.request.query_params)
        queryset = Conflict.objects.prefetch_related("skills")
        if "ecosystem" in filters:
            queryset = queryset.filter(ecosystem=filters["ecosystem"])
        if filters.get("package"):
            queryset = queryset.filter(package__iexact=filters["package"])
        if "kind" in filters:
            queryset = queryset.filter(kind=filters["kind"])
        if "skill" in filters:
            queryset = queryset.filter(skills=filters["skill"])
        return queryset

    @extend_schema(
        summary="List recorded conflicts, newest first",
        parameters=[api.ConflictFilterSerializer],
        responses={200: api.ConflictSerializer(many=True), **errors(400, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ConflictDetailView(ObjectLookup, generics.RetrieveAPIView):
    """Show one recorded conflict."""

    label = "Conflict"
    serializer_class = api.ConflictSerializer
    queryset = Conflict.objects.prefetch_related("skills")

    @extend_schema(
        summary="One recorded conflict",
        responses={200: api.ConflictSerializer, **errors(404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotFoundView(APIView):
    """Answer any other path under /api/ with the JSON error shape."""

    schema = None

    def initial(self, request, *args, **kwargs):
        # Authenticate first, so that anonymous callers learn nothing here.
        super().initial(request, *args, **kwargs)
        raise NotFound(f"There is no API endpoint at {request.path!r}.")
