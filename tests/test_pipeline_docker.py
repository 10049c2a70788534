"""The install pipeline with the Docker backend, against a real engine."""

import os

import docker
import pytest

from installs import services
from installs.models import Artifact, InstallRun, Skill, Trigger

BASE_IMAGE = os.environ.get("SKILLINSTALL_TEST_DOCKER_IMAGE", "")

pytestmark = [
    pytest.mark.docker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not BASE_IMAGE,
        reason="SKILLINSTALL_TEST_DOCKER_IMAGE is not set; scripts/services.sh "
        "starts the engine, makes the base image and sets it",
    ),
]


@pytest.fixture
def docker_backend(settings, python_index):
    settings.SKILLINSTALL_BACKEND = "docker"
    settings.SKILLINSTALL_DOCKER_BASE_IMAGE = BASE_IMAGE
    python_index.add("gamma", "1.0", requires=["delta"])
    python_index.add("delta", "3.1")
    python_index.add(
        "broken", "1.0", modules={"broken/__init__.py": "raise SystemExit(3)\n"}
    )
    yield
    client = docker.from_env()
    for artifact in Artifact.objects.exclude(reference=""):
        try:
            client.images.remove(artifact.reference, force=True)
        except docker.errors.ImageNotFound:
            pass


def install(skill_id):
    run = services.request_install(
        skill_id=skill_id, trigger=Trigger.CLI, enqueue=False
    )
    return services.execute_run(run.pk)


def test_install_builds_an_image_and_a_repeat_is_a_cache_hit(docker_backend):
    Skill.objects.create(id="acme/img", python_requirements=["gamma"])

    run = install("acme/img")

    assert run.status == InstallRun.Status.SUCCEEDED, run.log
    artifact = Artifact.objects.get(pk=run.artifact_id)
    assert artifact.backend == "docker"
    output = docker.from_env().containers.run(
        artifact.reference,
        [
            "/opt/skill/env/bin/python",
            "-c",
            "import gamma, delta; print(delta.__version__)",
        ],
        network_mode="none",
        remove=True,
    )
    assert output.decode().strip() == "3.1"

    again = services.request_install(skill_id="acme/img", trigger=Trigger.API)
    assert (again.status, again.cache_hit, again.artifact_id) == (
        InstallRun.Status.SUCCEEDED,
        True,
        artifact.pk,
    )


def test_a_failed_image_build_keeps_the_previous_environment(docker_backend):
    Skill.objects.create(id="acme/img", python_requirements=["gamma"])
    good = install("acme/img")
    Skill.objects.filter(pk="acme/img").update(python_requirements=["gamma", "broken"])

    run = install("acme/img")

    assert run.status == InstallRun.Status.FAILED
    assert run.error_code == "build_failed"
    assert Skill.objects.get(pk="acme/img").active_artifact_id == good.artifact_id
    tags = [tag for image in docker.from_env().images.list() for tag in image.tags]
    assert not any(run.dependency_hash[:32] in tag for tag in tags)
