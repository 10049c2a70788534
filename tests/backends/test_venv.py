"""The venv backend, building real environments from locks made by the resolver."""

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from installs import resolver
from installs.backends.base import BuildResult, get_backend
from installs.backends.venv import MARKER, VenvBackend, tree_size
from installs.exceptions import BackendUnavailableError, BuildError
from installs.resolver import resolve_npm, resolve_python

HASH = "3f" * 32


@pytest.fixture
def backend(settings):
    settings.SKILLINSTALL_BACKEND = "venv"
    return get_backend()


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(settings):
    return sorted(p.name for p in settings.SKILLINSTALL_ARTIFACT_ROOT.iterdir())


def run_python(venv, code):
    return subprocess.run(
        [Path(venv) / "bin" / "python", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_build_installs_python_and_npm_and_publishes_a_complete_env(
    settings, backend, python_index, npm_registry
):
    python_index.add(
        "alpha",
        "1.0",
        requires=["beta>=1"],
        modules={
            "alpha/__init__.py": "def hello():\n    print('hello from alpha')\n",
            "alpha-1.0.dist-info/entry_points.txt": (
                "[console_scripts]\nalpha-hello = alpha:hello\n"
            ),
        },
    )
    python_index.add("beta", "2.0")
    npm_registry.publish("left-pad", "1.0.0", {"tiny": "^1.0.0"})
    npm_registry.publish("tiny", "1.0.0")
    python_lock = resolve_python(["alpha"])
    npm_lock = resolve_npm({"left-pad": "^1.0.0"})
    lines = []

    result = backend.build(
        dependency_hash=HASH,
        python_lock=python_lock.text,
        npm_lock=npm_lock.text,
        run_id="41",
        log=lines.append,
    )

    final = settings.SKILLINSTALL_ARTIFACT_ROOT / HASH
    assert result == BuildResult(reference=str(final), size_bytes=tree_size(final))
    assert result.size_bytes > 0
    assert leftovers(settings) == [HASH]
    assert (final / MARKER).read_text() == f"{HASH}\n"
    assert backend.exists(result.reference)
    # The venv was made at the partial path and renamed: it must still work.
    assert run_python(final, "import alpha, beta, sys; print(sys.prefix)") == str(final)
    script = subprocess.run(
        [final / "bin" / "alpha-hello"], capture_output=True, text=True, check=True
    )
    assert script.stdout == "hello from alpha\n"
    assert ".partial-" not in (final / "bin" / "alpha-hello").read_text()
    assert ".partial-" not in (final / "pyvenv.cfg").read_text()
    installed = json.loads((final / "node/node_modules/tiny/package.json").read_text())
    assert installed["version"] == "1.0.0"
    assert (final / "node/node_modules/left-pad/index.js").is_file()
    assert any(line.startswith("$ uv pip sync") for line in lines)
    assert any(line.startswith("$ npm ci --ignore-scripts") for line in lines)
    assert lines[-1] == f"Environment ready at {final} ({result.size_bytes} bytes)."
    assert list(settings.SKILLINSTALL_WORK_ROOT.iterdir()) == []


def test_a_built_hash_is_not_built_again(settings, backend, python_index):
    python_index.add("alpha", "1.0")
    lock = resolve_python(["alpha"]).text
    first = backend.build(
        dependency_hash=HASH, python_lock=lock, npm_lock="", run_id="1", log=print
    )
    lines = []

    second = backend.build(
        dependency_hash=HASH,
        python_lock=lock,
        npm_lock="",
        run_id="2",
        log=lines.append,
    )

    assert second == first
    assert lines == [f"Environment {first.reference} is already built."]


def test_a_hash_that_matches_no_wheel_fails_the_build_and_leaves_nothing(
    settings, backend, python_index
):
    python_index.add("alpha", "1.0", requires=["beta"])
    python_index.add("beta", "1.0")
    lock = resolve_python(["alpha"]).text
    locked = sha256_of(python_index.directory / "beta-1.0-py3-none-any.whl")
    # Editing the lock rather than the wheel: uv may install a wheel it cached
    # under the locked hash while resolving, without reading the file again.
    lock = lock.replace(locked, hashlib.sha256(b"something else").hexdigest())

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=HASH, python_lock=lock, npm_lock="", run_id="7", log=print
        )

    assert caught.value.message.startswith("uv pip sync failed (exit 1):\n")
    assert "Hash mismatch for `beta==1.0`" in caught.value.message
    assert leftovers(settings) == []
    assert not backend.exists(backend.reference_for(HASH))


def test_a_package_that_fails_to_import_fails_the_build(
    settings, backend, python_index
):
    python_index.add(
        "broken",
        "1.0",
        modules={"broken/__init__.py": "raise RuntimeError('needs a GPU')\n"},
    )
    python_index.add("fine", "1.0")
    lock = resolve_python(["broken", "fine"]).text

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=HASH, python_lock=lock, npm_lock="", run_id="8", log=print
        )

    assert caught.value.message == (
        "Importing installed packages failed: "
        "'broken' from broken 1.0 (RuntimeError: needs a GPU)."
    )
    assert leftovers(settings) == []


def test_a_tampered_npm_tarball_fails_the_build_and_leaves_nothing(
    settings, backend, python_index, npm_registry, monkeypatch
):
    write_userconfig = resolver.write_npm_userconfig

    def without_retries(path, registry):
        # npm retries a failed fetch for over a minute by default.
        write_userconfig(path, registry)
        with open(path, "a") as userconfig:
            userconfig.write("fetch-retries=0\n")
        return path

    monkeypatch.setattr(resolver, "write_npm_userconfig", without_retries)
    npm_registry.publish("tiny", "1.0.0")
    lock = resolve_npm({"tiny": "1"}).text
    npm_registry.publish("tiny", "1.0.0", {"left-pad": "*"})

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=HASH, python_lock="", npm_lock=lock, run_id="9", log=print
        )

    assert caught.value.message.startswith("npm ci failed (exit 1):\n")
    assert "EINTEGRITY" in caught.value.message
    assert leftovers(settings) == []


def test_a_missing_interpreter_fails_the_build_and_leaves_nothing(
    settings, backend, python_index
):
    settings.SKILLINSTALL_TARGET_PYTHON = "3.99"

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=HASH, python_lock="", npm_lock="", run_id="3", log=print
        )

    assert caught.value.message.startswith("uv venv failed (exit 2):\n")
    assert "No interpreter found for Python 3.99" in caught.value.message
    assert leftovers(settings) == []


def test_an_allowed_sdist_is_built_from_source(settings, backend, python_index):
    python_index.add("srconly", "1.0", sdist=True)
    settings.SKILLINSTALL_ALLOW_SDISTS = ["srconly"]
    lock = resolve_python(["srconly"]).text

    result = backend.build(
        dependency_hash=HASH, python_lock=lock, npm_lock="", run_id="5", log=print
    )

    assert run_python(result.reference, "import srconly; print(srconly.__version__)")
    assert backend.exists(result.reference)


def test_a_lock_with_an_sdist_no_longer_allowed_is_refused(
    settings, backend, python_index
):
    python_index.add("srconly", "1.0", sdist=True)
    settings.SKILLINSTALL_ALLOW_SDISTS = ["srconly"]
    lock = resolve_python(["srconly"]).text
    settings.SKILLINSTALL_ALLOW_SDISTS = []

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=HASH, python_lock=lock, npm_lock="", run_id="5", log=print
        )

    assert caught.value.message == (
        "The Python lock builds srconly from source, which "
        "SKILLINSTALL_ALLOW_SDISTS no longer allows."
    )
    assert leftovers(settings) == []


def test_a_lock_carrying_another_option_is_refused(settings, backend, python_index):
    lock = "--index-url http://127.0.0.1:1/simple\n"

    with pytest.raises(BuildError) as caught:
        backend.build(
            dependency_hash=HASH, python_lock=lock, npm_lock="", run_id="5", log=print
        )

    assert caught.value.message == (
        "The Python lock carries an option skillinstall does not accept: "
        "'--index-url http://127.0.0.1:1/simple'."
    )
    assert leftovers(settings) == []


def test_losing_the_race_returns_the_winners_env(
    settings, backend, python_index, monkeypatch
):
    final = settings.SKILLINSTALL_ARTIFACT_ROOT / HASH
    check = VenvBackend._check_python

    def another_run_finishes_first(self, partial, log):
        check(self, partial, log)
        final.mkdir()
        (final / MARKER).write_text(f"{HASH}\n")

    monkeypatch.setattr(VenvBackend, "_check_python", another_run_finishes_first)
    lines = []

    result = backend.build(
        dependency_hash=HASH, python_lock="", npm_lock="", run_id="6", log=lines.append
    )

    assert result.reference == str(final)
    assert f"Environment {final} was finished by another run." in lines
    assert leftovers(settings) == [HASH]
    assert not (final / "bin").exists()


def test_an_env_without_marker_does_not_exist(settings, backend):
    reference = backend.reference_for(HASH)
    (settings.SKILLINSTALL_ARTIFACT_ROOT / HASH / "bin").mkdir(parents=True)

    assert not backend.exists(reference)

    (settings.SKILLINSTALL_ARTIFACT_ROOT / HASH / MARKER).write_text(HASH)
    assert backend.exists(reference)


def test_an_env_without_marker_is_replaced_by_a_build(settings, backend):
    stale = settings.SKILLINSTALL_ARTIFACT_ROOT / HASH
    (stale / "junk").mkdir(parents=True)

    result = backend.build(
        dependency_hash=HASH, python_lock="", npm_lock="", run_id="1", log=print
    )

    assert backend.exists(result.reference)
    assert not (stale / "junk").exists()
    assert leftovers(settings) == [HASH]


def test_remove_deletes_an_env_and_ignores_a_missing_one(settings, backend):
    result = backend.build(
        dependency_hash=HASH, python_lock="", npm_lock="", run_id="1", log=print
    )

    backend.remove(result.reference)
    backend.remove(result.reference)

    assert leftovers(settings) == []


def test_remove_refuses_a_path_outside_the_artifact_root(backend, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()

    with pytest.raises(BuildError) as caught:
        backend.remove(str(outside))

    assert caught.value.message == (
        f"Refusing to remove {outside}: it is not an environment in the "
        f"artifact root {backend.root}."
    )
    assert outside.is_dir()


def test_remove_partial_deletes_what_a_run_left(settings, backend):
    partial = settings.SKILLINSTALL_ARTIFACT_ROOT / f"{HASH}.partial-12"
    (partial / "lib").mkdir(parents=True)
    other = settings.SKILLINSTALL_ARTIFACT_ROOT / f"{HASH}.partial-13"
    other.mkdir()

    backend.remove_partial(HASH, 12)
    backend.remove_partial(HASH, 12)

    assert leftovers(settings) == [f"{HASH}.partial-13"]


@pytest.mark.parametrize("dependency_hash", ["../escape", "a/b", "", ".hidden"])
def test_a_hash_that_is_not_a_plain_name_is_refused(backend, dependency_hash):
    with pytest.raises(BuildError) as caught:
        backend.reference_for(dependency_hash)

    assert caught.value.message == (
        f"Dependency hash {dependency_hash!r} cannot name a directory."
    )


def test_validate_passes_here(backend):
    backend.validate()


def test_validate_fails_without_uv(backend, monkeypatch):
    monkeypatch.setattr(resolver, "uv_binary", lambda: None)

    with pytest.raises(BackendUnavailableError) as caught:
        backend.validate()

    assert caught.value.message == "The venv backend needs uv, which is not installed."


def test_validate_fails_when_the_artifact_root_is_not_a_directory(
    settings, backend, tmp_path
):
    settings.SKILLINSTALL_ARTIFACT_ROOT = tmp_path / "a-file"
    settings.SKILLINSTALL_ARTIFACT_ROOT.write_text("")

    with pytest.raises(BackendUnavailableError) as caught:
        backend.validate()

    assert caught.value.message == (
        f"The artifact root {tmp_path / 'a-file'} is not writable: File exists."
    )
