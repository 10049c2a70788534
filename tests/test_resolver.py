"""Resolution with real uv and npm against indexes the tests build and serve."""

import hashlib
import json
import os
import subprocess

import pytest

from installs import resolver
from installs.exceptions import (
    InvalidSpecError,
    PackageNotFoundError,
    ResolutionError,
)
from installs.resolver import NpmLock, PythonLock, resolve_npm, resolve_python
from tests.support.python import wheel_filename

INDEX_KINDS = ["python_index", "simple_python_index"]


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tool_version(command):
    # "uv 0.13.9 (x86_64-unknown-linux-gnu)" or "11.19.1".
    words = subprocess.check_output(command, text=True).split()
    return words[1] if words[0] == "uv" else words[0]


def pinned(index, name, version):
    digest = sha256_of(index.directory / wheel_filename(name, version))
    return f"{name}=={version} \\\n    --hash=sha256:{digest}\n"


@pytest.fixture(params=INDEX_KINDS)
def any_python_index(request):
    """Each test runs once with find-links and once with the loopback index."""
    return request.getfixturevalue(request.param)


# --- Python -----------------------------------------------------------------


def test_resolves_a_tree_transitively_under_a_constraint(any_python_index):
    index = any_python_index
    index.add("alpha", "1.0", requires=["beta>=1"])
    index.add("beta", "1.0")
    index.add("beta", "2.0")
    lines = []

    lock = resolve_python(["alpha"], constraints=["beta<2"], log=lines.append)

    assert lock.versions == {"alpha": "1.0", "beta": "1.0"}
    assert lock.text == pinned(index, "alpha", "1.0") + pinned(index, "beta", "1.0")
    assert lines[0].startswith("$ uv pip compile requirements.in")
    assert lines[-1] == "Resolved 2 Python packages."


def test_without_a_constraint_the_highest_version_is_locked(python_index):
    python_index.add("alpha", "1.0", requires=["beta>=1"])
    python_index.add("beta", "1.0")
    python_index.add("beta", "2.0")

    lock = resolve_python(["alpha"])

    assert lock.versions == {"alpha": "1.0", "beta": "2.0"}


def test_lock_text_is_the_same_on_every_resolution(python_index):
    python_index.add("Zeta_Pkg", "1.0", requires=["alpha"])
    python_index.add("alpha", "3.1")

    first = resolve_python(["zeta.pkg", "alpha>=3"])
    second = resolve_python(["alpha>=3", "Zeta_Pkg"])

    assert first == second
    assert first.versions == {"alpha": "3.1", "zeta-pkg": "1.0"}
    assert first.text.startswith("alpha==3.1 \\\n    --hash=sha256:")
    assert "#" not in first.text


@pytest.mark.parametrize(
    "target_platform, target_python, expected",
    [
        ("linux", "3.11", {"app", "linux-only"}),
        ("windows", "3.11", {"app", "windows-only"}),
        ("linux", "3.9", {"app", "linux-only", "old-python-only"}),
    ],
)
def test_markers_are_decided_for_the_target(
    settings, python_index, target_platform, target_python, expected
):
    python_index.add(
        "app",
        "1.0",
        requires=[
            'linux-only; sys_platform == "linux"',
            'windows-only; sys_platform == "win32"',
            'old-python-only; python_version < "3.10"',
        ],
    )
    for name in ("linux-only", "windows-only", "old-python-only"):
        python_index.add(name, "1.0")
    settings.SKILLINSTALL_TARGET_PLATFORM = target_platform
    settings.SKILLINSTALL_TARGET_PYTHON = target_python

    lock = resolve_python(["app"])

    assert set(lock.versions) == expected
    assert ";" not in lock.text


def test_no_requirements_give_an_empty_lock_without_running_uv(
    python_index, monkeypatch
):
    monkeypatch.setattr(resolver, "run_tool", None)

    assert resolve_python([]) == PythonLock("", {})


@pytest.mark.parametrize(
    "requirement",
    ["--index-url http://127.0.0.1:1/simple", "-e .", "alpha\n--no-index", "alpha>"],
)
def test_a_line_that_is_not_a_requirement_is_refused(python_index, requirement):
    with pytest.raises(InvalidSpecError) as caught:
        resolve_python([requirement])

    assert caught.value.message == (
        f"Python requirement {requirement!r} is not a valid PEP 508 requirement."
    )


def test_an_unknown_package_is_not_found(any_python_index):
    any_python_index.add("alpha", "1.0")

    with pytest.raises(PackageNotFoundError) as caught:
        resolve_python(["alpha", "nosuchpkg"])

    assert caught.value.message == (
        "Python package 'nosuchpkg' was not found on the configured index."
    )
    assert caught.value.packages == ["nosuchpkg"]
    assert caught.value.explanation.startswith("Because nosuchpkg was not found")


def test_an_unknown_dependency_of_a_package_is_not_found(python_index):
    python_index.add("alpha", "1.0", requires=["ghost>=1"])

    with pytest.raises(PackageNotFoundError) as caught:
        resolve_python(["alpha"])

    assert caught.value.message == (
        "Python package 'ghost' was not found on the configured index."
    )
    assert set(caught.value.packages) == {"alpha", "ghost"}


@pytest.mark.parametrize(
    "requirement, message",
    [
        ("beta>=9", "No version of 'beta' matches '>=9': only beta<=2.0 is available."),
        ("beta<1", "No version of 'beta' matches '<1': only beta>=1.0 is available."),
        ("beta==9", "No version of 'beta' matches '==9'."),
    ],
)
def test_a_version_that_does_not_exist_is_not_found(python_index, requirement, message):
    python_index.add("beta", "1.0")
    python_index.add("beta", "2.0")

    with pytest.raises(PackageNotFoundError) as caught:
        resolve_python([requirement])

    assert caught.value.message == message
    assert caught.value.packages == ["beta"]


def test_an_unsatisfiable_transitive_set_names_every_package(python_index):
    python_index.add("left", "1.0", requires=["cee<2"])
    python_index.add("right", "1.0", requires=["cee>=2"])
    python_index.add("cee", "1.0")
    python_index.add("cee", "2.0")

    with pytest.raises(ResolutionError) as caught:
        resolve_python(["left", "right"])

    error = caught.value
    assert type(error) is ResolutionError
    assert error.message == (
        "No set of versions satisfies the Python requirements together; "
        "the conflict involves cee, left, right."
    )
    assert error.packages == ["cee", "left", "right"]
    assert error.explanation == (
        "Because all versions of right depend on cee>=2 and all versions of left "
        "depend on cee<2, we can conclude that all versions of left and all "
        "versions of right are incompatible.\n"
        "And because you require left and right, we can conclude that your "
        "requirements are unsatisfiable."
    )


def test_an_sdist_is_refused_unless_allowed(python_index):
    python_index.add("srconly", "1.0", sdist=True)

    with pytest.raises(ResolutionError) as caught:
        resolve_python(["srconly"])

    assert caught.value.message == (
        "Python package 'srconly' has no wheel for this target, and building "
        "from source is not allowed: add it to SKILLINSTALL_ALLOW_SDISTS to let "
        "its build code run."
    )
    assert caught.value.packages == ["srconly"]


def test_an_allowed_sdist_is_locked_by_its_own_hash(settings, python_index):
    sdist = python_index.add("srconly", "1.0", sdist=True, requires=["beta"])
    python_index.add("beta", "1.0")
    settings.SKILLINSTALL_ALLOW_SDISTS = ["SrcOnly"]
    lines = []

    lock = resolve_python(["srconly"], log=lines.append)

    assert lock.versions == {"beta": "1.0", "srconly": "1.0"}
    assert lock.text == (
        "--no-binary srconly\n"
        + pinned(python_index, "beta", "1.0")
        + f"srconly==1.0 \\\n    --hash=sha256:{sha256_of(sdist)}\n"
    )
    assert "Allowing source builds of srconly." in lines
    assert resolver.python_lock_sdists(lock.text) == {"srconly"}


def test_an_allowed_sdist_with_a_wheel_is_locked_as_the_wheel(settings, python_index):
    python_index.add("both", "1.0", sdist=True)
    python_index.add("both", "1.0")
    settings.SKILLINSTALL_ALLOW_SDISTS = ["both"]

    lock = resolve_python(["both"])

    assert lock.text == pinned(python_index, "both", "1.0")


@pytest.mark.parametrize(
    "value, machine, expected",
    [
        ("linux", "x86_64", "x86_64-unknown-linux-gnu"),
        ("linux", "aarch64", "aarch64-unknown-linux-gnu"),
        ("macos", "arm64", "aarch64-apple-darwin"),
        ("windows", "AMD64", "x86_64-pc-windows-msvc"),
        ("x86_64-manylinux_2_28", "x86_64", "x86_64-manylinux_2_28"),
    ],
)
def test_target_platform_maps_to_a_uv_triple(
    settings, monkeypatch, value, machine, expected
):
    settings.SKILLINSTALL_TARGET_PLATFORM = value
    monkeypatch.setattr(resolver.platform, "machine", lambda: machine)

    assert resolver.target_platform() == expected


def test_an_unknown_target_platform_is_an_error(settings):
    settings.SKILLINSTALL_TARGET_PLATFORM = "beos"

    with pytest.raises(ResolutionError) as caught:
        resolver.target_platform()

    assert caught.value.message == (
        "SKILLINSTALL_TARGET_PLATFORM 'beos' is not one of darwin, linux, macos, "
        "windows or a uv target triple."
    )


def test_resolver_settings_name_everything_that_changes_a_lock(
    settings, simple_python_index, npm_registry
):
    settings.SKILLINSTALL_ALLOW_SDISTS = ["Zeta_Pkg"]

    values = resolver.resolver_settings()

    assert values == {
        "index_url": simple_python_index.url,
        "find_links": [],
        "no_index": False,
        "allow_sdists": ["zeta-pkg"],
        "npm_registry": npm_registry.url + "/",
        "target_python": settings.SKILLINSTALL_TARGET_PYTHON,
        "target_platform": resolver.target_platform(),
        "uv_version": tool_version([resolver.uv_binary(), "--version"]),
        "npm_version": tool_version(["npm", "--version"]),
    }


# --- npm --------------------------------------------------------------------


def publish_tree(registry):
    integrity = {
        "left-pad@1.0.0": registry.publish("left-pad", "1.0.0", {"tiny": "^1.0.0"}),
        "@acme/util@0.1.0": registry.publish("@acme/util", "0.1.0", {"tiny": "^2"}),
        "tiny@1.0.0": registry.publish("tiny", "1.0.0"),
        "tiny@1.2.0": registry.publish("tiny", "1.2.0"),
        "tiny@2.0.0": registry.publish("tiny", "2.0.0"),
    }
    return integrity


def test_resolves_an_npm_tree_with_nested_copies(npm_registry):
    integrity = publish_tree(npm_registry)
    lines = []

    lock = resolve_npm({"left-pad": "^1.0.0", "@acme/util": "~0.1.0"}, log=lines.append)

    assert lock.versions == {
        "@acme/util": "0.1.0",
        "left-pad": "1.0.0",
        "left-pad/node_modules/tiny": "1.2.0",
        "tiny": "2.0.0",
    }
    packages = json.loads(lock.text)["packages"]
    assert packages[""] == {
        "dependencies": {"@acme/util": "~0.1.0", "left-pad": "^1.0.0"}
    }
    assert packages["node_modules/left-pad/node_modules/tiny"] == {
        "version": "1.2.0",
        "resolved": npm_registry.tarball_url("tiny", "1.2.0"),
        "integrity": integrity["tiny@1.2.0"],
    }
    assert packages["node_modules/@acme/util"]["resolved"] == (
        npm_registry.tarball_url("@acme/util", "0.1.0")
    )
    assert "skillinstall-environment" not in lock.text
    assert lines[-1] == "Resolved 4 npm packages."


def test_npm_lock_text_is_the_same_on_every_resolution(npm_registry):
    publish_tree(npm_registry)

    first = resolve_npm({"left-pad": "^1.0.0", "tiny": "2"})
    second = resolve_npm({"tiny": "2", "left-pad": "^1.0.0"})

    assert first == second
    assert (
        first.text
        == json.dumps(json.loads(first.text), indent=2, sort_keys=True) + "\n"
    )


def test_npm_lock_keeps_resolved_whatever_the_user_npmrc_says(
    npm_registry, monkeypatch, tmp_path
):
    publish_tree(npm_registry)
    user_npmrc = tmp_path / "user-npmrc"
    user_npmrc.write_text("omit-lockfile-registry-resolved=true\n")
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(user_npmrc))
    monkeypatch.setenv("npm_config_omit_lockfile_registry_resolved", "true")
    # The same machine settings make a plain npm drop "resolved".
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "package.json").write_text('{"dependencies": {"tiny": "^2.0.0"}}')
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--registry", npm_registry.url + "/"],
        cwd=plain,
        check=True,
        capture_output=True,
    )
    plain_lock = json.loads((plain / "package-lock.json").read_text())
    assert "resolved" not in plain_lock["packages"]["node_modules/tiny"]

    lock = resolve_npm({"tiny": "^2.0.0"})

    entry = json.loads(lock.text)["packages"]["node_modules/tiny"]
    assert entry["resolved"] == npm_registry.tarball_url("tiny", "2.0.0")
    assert entry["integrity"].startswith("sha512-")


@pytest.fixture
def fresh_machine_registry():
    """The machine's registry is read once per process; this test changes it."""
    from installs import resolver

    resolver._machine_npm_registry.cache_clear()
    yield
    resolver._machine_npm_registry.cache_clear()


def test_npm_uses_the_machine_registry_when_none_is_configured(
    settings, npm_registry, monkeypatch, fresh_machine_registry
):
    npm_registry.publish("tiny", "2.0.0")
    settings.SKILLINSTALL_NPM_REGISTRY = ""
    monkeypatch.setenv("npm_config_registry", npm_registry.url)
    lines = []

    lock = resolve_npm({"tiny": "^2.0.0"}, log=lines.append)

    assert lock.versions == {"tiny": "2.0.0"}
    assert f"npm registry: {npm_registry.url}/" in lines


@pytest.mark.parametrize("name", ["nosuch", "@acme/nosuch"])
def test_an_unknown_npm_package_is_not_found(npm_registry, name):
    npm_registry.publish("tiny", "1.0.0")

    with pytest.raises(PackageNotFoundError) as caught:
        resolve_npm({"tiny": "1", name: "^1.0.0"})

    assert caught.value.message == (
        f"npm package {name!r} was not found on the configured registry."
    )
    assert caught.value.packages == [name]
    assert "could not be found" in caught.value.explanation
    assert "complete log" not in caught.value.explanation


def test_an_npm_version_that_does_not_exist_is_not_found(npm_registry):
    publish_tree(npm_registry)

    with pytest.raises(PackageNotFoundError) as caught:
        resolve_npm({"tiny": "^9.0.0"})

    assert caught.value.message == (
        "No version of 'tiny' matches '^9.0.0': available versions are "
        "1.0.0, 1.2.0, 2.0.0."
    )
    assert caught.value.packages == ["tiny"]


def test_no_npm_dependencies_give_an_empty_lock(npm_registry):
    assert resolve_npm({}) == NpmLock("", {})


def test_scratch_directories_are_removed(settings, python_index, npm_registry):
    python_index.add("alpha", "1.0")
    npm_registry.publish("tiny", "1.0.0")

    resolve_python(["alpha"])
    resolve_npm({"tiny": "1"})

    assert os.listdir(settings.SKILLINSTALL_WORK_ROOT) == []
