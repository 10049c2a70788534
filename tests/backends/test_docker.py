"""The Docker backend against a real engine and the base image services.sh makes.

Packages come from wheels and tarballs made here, so neither the host steps
nor the build need anything from outside the machine.
"""

import hashlib
import json
import os
import uuid

import docker
import pytest
from docker.errors import ImageNotFound

from installs.backends.docker import COMPLETE_LABEL, RUN_LABEL, DockerBackend
from installs.exceptions import BackendUnavailableError, BuildError
from tests.support.npm import build_tarball, integrity_of
from tests.support.python import build_wheel

BASE_IMAGE = os.environ.get("SKILLINSTALL_TEST_DOCKER_IMAGE", "")

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(
        not BASE_IMAGE,
        reason="SKILLINSTALL_TEST_DOCKER_IMAGE is not set; scripts/services.sh "
        "starts the engine, makes the base image and sets it",
    ),
]


# --- packages made in the test ----------------------------------------------


def _lock_line(wheel, name, version, *, digest=None):
    digest = digest or hashlib.sha256(wheel.read_bytes()).hexdigest()
    return f"{name}=={version} \\\n    --hash=sha256:{digest}\n"


def _npm_tarball(directory, name, version):
    """Write an npm package tarball and return its path and integrity."""
    data = build_tarball(name, version)
    path = directory / f"{name}-{version}.tgz"
    path.write_bytes(data)
    return path, integrity_of(data)


def _npm_lock(name, version, tarball, integrity):
    # An absolute file: address, so npm finds the tarball from any directory.
    source = f"file:{tarball}"
    return json.dumps(
        {
            "name": "skill",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "requires": True,
            "packages": {
                "": {
                    "name": "skill",
                    "version": "1.0.0",
                    "dependencies": {name: source},
                },
                f"node_modules/{name}": {
                    "version": version,
                    "resolved": source,
                    "integrity": integrity,
                },
            },
        }
    )


# --- fixtures -----------------------------------------------------------------


@pytest.fixture
def client():
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture
def wheels(settings, tmp_path):
    directory = tmp_path / "wheels"
    directory.mkdir()
    settings.SKILLINSTALL_FIND_LINKS = [str(directory)]
    settings.SKILLINSTALL_NO_INDEX = True
    return directory


@pytest.fixture
def backend(settings):
    settings.SKILLINSTALL_DOCKER_BASE_IMAGE = BASE_IMAGE
    settings.SKILLINSTALL_DOCKER_URL = ""
    return DockerBackend()


@pytest.fixture
def build_ids(client):
    """Return a fresh (dependency hash, run id) and remove what it made."""
    made = []

    def new():
        # Unique per test, so suites running at once on one engine never
        # share a tag.
        ids = (hashlib.sha256(uuid.uuid4().bytes).hexdigest(), uuid.uuid4().hex[:12])
        made.append(ids)
        return ids

    yield new
    for dependency_hash, run_id in made:
        for image in _run_images(client, run_id):
            try:
                client.images.remove(image.id, force=True)
            except docker.errors.APIError:
                pass


def _run_images(client, run_id):
    return client.images.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})


# --- tests --------------------------------------------------------------------


def test_build_makes_an_image_that_works_with_no_network(
    backend, wheels, build_ids, client, settings, tmp_path
):
    dependency_hash, run_id = build_ids()
    alpha = build_wheel(wheels, "skilltoy-alpha", "1.0", requires=["skilltoy-beta"])
    beta = build_wheel(wheels, "skilltoy-beta", "2.0")
    python_lock = _lock_line(alpha, "skilltoy-alpha", "1.0") + _lock_line(
        beta, "skilltoy-beta", "2.0"
    )
    tarball, integrity = _npm_tarball(tmp_path, "skilltoy-node", "3.0.0")
    lines = []

    result = backend.build(
        dependency_hash=dependency_hash,
        python_lock=python_lock,
        npm_lock=_npm_lock("skilltoy-node", "3.0.0", tarball, integrity),
        run_id=run_id,
        log=lines.append,
    )

    assert result.reference == f"skillinstall/env:{dependency_hash}"
    assert result.size_bytes > 0
    assert backend.exists(result.reference)
    assert "import check: 2 modules imported" in lines
    assert "npm check: 1 packages present" in lines
    # The image's PATH and NODE_PATH lead to the environment.
    script = (
        "python -c 'import skilltoy_alpha, skilltoy_beta; "
        "print(skilltoy_alpha.__version__, skilltoy_beta.__version__)' "
        "&& node -p 'require(\"skilltoy-node\")'"
    )
    output = client.containers.run(
        result.reference, ["sh", "-c", script], network_mode="none", remove=True
    )
    assert output.decode().split() == ["1.0", "2.0", "skilltoy-node"]
    assert list(settings.SKILLINSTALL_WORK_ROOT.iterdir()) == []
    # Only the result is kept: the first stage, which held the wheels, is gone.
    kept = _run_images(client, run_id)
    assert [image.labels.get(COMPLETE_LABEL) for image in kept] == [dependency_hash]


def test_wheels_never_reach_the_image(backend, wheels, build_ids, client):
    dependency_hash, run_id = build_ids()
    wheel = build_wheel(wheels, "skilltoy-gamma", "1.0")

    result = backend.build(
        dependency_hash=dependency_hash,
        python_lock=_lock_line(wheel, "skilltoy-gamma", "1.0"),
        npm_lock="",
        run_id=run_id,
        log=lambda line: None,
    )

    output = client.containers.run(
        result.reference,
        ["sh", "-c", "ls /ctx 2>&1; ls /opt/skill"],
        network_mode="none",
        remove=True,
    )
    assert output.decode().splitlines() == [
        "ls: cannot access '/ctx': No such file or directory",
        "env",
    ]


def test_hash_mismatch_raises_build_error_and_leaves_nothing(
    backend, wheels, build_ids, client, settings
):
    dependency_hash, run_id = build_ids()
    wheel = build_wheel(wheels, "skilltoy-delta", "1.0")
    python_lock = _lock_line(wheel, "skilltoy-delta", "1.0", digest="0" * 64)

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=dependency_hash,
            python_lock=python_lock,
            npm_lock="",
            run_id=run_id,
            log=lambda line: None,
        )

    assert caught.value.message.startswith(
        "The Docker build failed while downloading the locked wheels; "
        "the last lines of its log:\n"
    )
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in caught.value.message
    assert not backend.exists(backend.reference_for(dependency_hash))
    assert _run_images(client, run_id) == []
    assert list(settings.SKILLINSTALL_WORK_ROOT.iterdir()) == []


def test_failure_inside_the_build_removes_the_run_images(
    backend, wheels, build_ids, client, settings
):
    dependency_hash, run_id = build_ids()
    wheel = build_wheel(
        wheels,
        "skilltoy-broken",
        "1.0",
        modules={"skilltoy_broken/__init__.py": "raise ImportError('no display')\n"},
    )

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=dependency_hash,
            python_lock=_lock_line(wheel, "skilltoy-broken", "1.0"),
            npm_lock="",
            run_id=run_id,
            log=lambda line: None,
        )

    assert caught.value.message.startswith(
        "The Docker build failed while building the image; the last lines of its log:\n"
    )
    assert (
        "skilltoy-broken: import skilltoy_broken failed: ImportError('no display')"
        in caught.value.message
    )
    with pytest.raises(ImageNotFound):
        client.images.get(backend.reference_for(dependency_hash))
    assert _run_images(client, run_id) == []
    label = f"{RUN_LABEL}={run_id}"
    assert client.containers.list(all=True, filters={"label": label}) == []
    assert list(settings.SKILLINSTALL_WORK_ROOT.iterdir()) == []


def test_a_failing_log_fails_the_build_and_leaves_nothing(
    backend, wheels, build_ids, client, settings
):
    dependency_hash, run_id = build_ids()
    wheel = build_wheel(wheels, "skilltoy-epsilon", "1.0")

    def log(line):
        if line.startswith("Step 2/"):
            raise RuntimeError("the run's log is gone")

    with pytest.raises(RuntimeError, match="the run's log is gone"):
        backend.build(
            dependency_hash=dependency_hash,
            python_lock=_lock_line(wheel, "skilltoy-epsilon", "1.0"),
            npm_lock="",
            run_id=run_id,
            log=log,
        )

    assert _run_images(client, run_id) == []
    assert not backend.exists(backend.reference_for(dependency_hash))
    assert list(settings.SKILLINSTALL_WORK_ROOT.iterdir()) == []


def test_npm_lock_of_version_1_is_refused(backend, build_ids, settings):
    dependency_hash, run_id = build_ids()
    lock = json.dumps({"name": "skill", "lockfileVersion": 1, "dependencies": {}})

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=dependency_hash,
            python_lock="",
            npm_lock=lock,
            run_id=run_id,
            log=lambda line: None,
        )

    assert caught.value.message == (
        "The npm lock has lockfileVersion 1 and no root package; the docker "
        "backend needs version 2 or 3, as npm 7 and later write."
    )
    assert list(settings.SKILLINSTALL_WORK_ROOT.iterdir()) == []


def test_validate_names_a_missing_base_image(backend, settings):
    settings.SKILLINSTALL_DOCKER_BASE_IMAGE = "skillinstall/base:no-such-tag"
    settings.SKILLINSTALL_DOCKER_URL = "unix:///var/run/docker.sock"

    with pytest.raises(BackendUnavailableError) as caught:
        backend.validate()

    assert caught.value.message == (
        "The Docker base image 'skillinstall/base:no-such-tag' is not present in "
        "the engine at unix:///var/run/docker.sock; make it with "
        "scripts/base_image.sh."
    )


def test_validate_names_an_unreachable_engine(backend, settings, tmp_path):
    settings.SKILLINSTALL_DOCKER_URL = f"unix://{tmp_path}/docker.sock"

    with pytest.raises(BackendUnavailableError) as caught:
        backend.validate()

    assert caught.value.message == (
        f"The Docker engine at unix://{tmp_path}/docker.sock is not reachable: "
        f"{tmp_path}/docker.sock does not exist."
    )


def test_validate_passes_with_the_engine_and_base_image(backend):
    backend.validate()


def test_exists_needs_the_completion_label(backend):
    assert not backend.exists(BASE_IMAGE)
    assert not backend.exists(backend.reference_for("0" * 64))


def test_reference_is_refused_for_what_is_not_a_hash(backend):
    with pytest.raises(ValueError, match="Not a dependency hash: 'latest'"):
        backend.reference_for("latest")


def test_remove_of_a_missing_image_is_not_an_error(backend):
    backend.remove(backend.reference_for("0" * 64))


def test_remove_partial_removes_the_context_and_incomplete_images(
    backend, build_ids, client, settings, tmp_path
):
    dependency_hash, run_id = build_ids()
    context = settings.SKILLINSTALL_WORK_ROOT / f"{dependency_hash}.docker-{run_id}"
    context.mkdir()
    # What a build stopped midway leaves: an image of the run, not complete.
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nLABEL {RUN_LABEL}={run_id}\n"
    )
    client.images.build(path=str(tmp_path), network_mode="none", rm=True)
    assert len(_run_images(client, run_id)) == 1

    backend.remove_partial(dependency_hash, run_id)

    assert not context.exists()
    assert _run_images(client, run_id) == []
