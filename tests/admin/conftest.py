"""Users and records for the admin tests.

Runs, artifacts and conflicts are made here as rows, the way the pipeline
leaves them, so that pages can be checked without building anything.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from installs.backends.venv import MARKER
from installs.models import Artifact, InstallRun, Skill

Status = InstallRun.Status


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The default hasher spends most of a test's time on admin_user's password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def viewer(django_user_model):
    """A staff user who may look at everything but start nothing."""
    user = django_user_model.objects.create_user(
        "viewer", password="viewer-password", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="installs", codename__startswith="view_"
        )
    )
    return user


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def operator(django_user_model):
    """A staff user who may view and start installs, but is no superuser."""
    user = django_user_model.objects.create_user(
        "operator", password="operator-password", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="installs").filter(
            codename__startswith="view_"
        )
        | Permission.objects.filter(codename="trigger_install")
    )
    return user


def make_skill(skill_id, python=(), npm=None, **fields):
    return Skill.objects.create(
        id=skill_id,
        name=fields.pop("name", skill_id),
        python_requirements=list(python),
        npm_dependencies=npm or {},
        **fields,
    )


def make_artifact(digest, *, versions=None, reference="", size=0, **fields):
    return Artifact.objects.create(
        dependency_hash=digest.ljust(64, "0"),
        backend="venv",
        reference=reference,
        status=fields.pop("status", Artifact.Status.READY),
        locked_versions=versions or {},
        size_bytes=size,
        **fields,
    )


def complete_environment(tmp_path, artifact):
    """Make the artifact's directory look like a finished venv build."""
    directory = tmp_path / "envs" / artifact.dependency_hash
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("")
    artifact.reference = str(directory)
    artifact.save(update_fields=["reference"])
    return artifact


def make_run(skill, status=Status.SUCCEEDED, *, artifact=None, minutes_ago=0, **fields):
    """Create a finished (or in-flight) run as the pipeline would have."""
    created = timezone.now() - timedelta(minutes=minutes_ago)
    finished = status in InstallRun.FINISHED
    if artifact is not None:
        fields.setdefault("locked_versions", artifact.locked_versions)
        fields.setdefault("dependency_hash", artifact.dependency_hash)
        fields.setdefault("python_lock", artifact.python_lock)
    return InstallRun.objects.create(
        skill=skill,
        status=status,
        trigger=fields.pop("trigger", "cli"),
        artifact=artifact,
        created_at=created,
        started_at=created if status != Status.QUEUED else None,
        finished_at=created + timedelta(seconds=3) if finished else None,
        **fields,
    )
