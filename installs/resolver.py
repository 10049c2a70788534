"""Full transitive resolution: uv for Python, npm for Node.

Both tools run in a scratch directory with a configuration this module sets,
so that a lock depends only on the specs and on ``resolver_settings()``.
"""

import functools
import json
import logging
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from installs.exceptions import (
    InvalidSpecError,
    PackageNotFoundError,
    ResolutionError,
)

logger = logging.getLogger(__name__)

# Seconds one uv or npm invocation may take before it is given up.
DEFAULT_TOOL_TIMEOUT = 900
# Versions listed when an npm range matches none of them.
NPM_VERSIONS_SHOWN = 20
# Tool output kept in an error message: enough to see the cause, not a wall.
TAIL_LINES = 12
# The one uv variable passed through: where the shared cache lives changes
# how fast a resolution is, never what it gives.
_UV_PASSTHROUGH = {"UV_CACHE_DIR"}
_MACHINE_ARCH = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
}
_PLATFORM_TRIPLES = {
    "linux": "{arch}-unknown-linux-gnu",
    "macos": "{arch}-apple-darwin",
    "darwin": "{arch}-apple-darwin",
    "windows": "{arch}-pc-windows-msvc",
}
# The project name and version npm writes into a lock; dropped from the
# normalised lock text because they say nothing about the environment.
NPM_PROJECT = {"name": "skillinstall-environment", "version": "0.0.0"}


def _ignore(line):
    pass


@dataclass(frozen=True)
class PythonLock:
    """A hash-pinned requirements file and the versions it pins."""

    text: str
    versions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NpmLock:
    """A normalised package-lock.json and the versions it installs.

    ``versions`` is keyed by install path below ``node_modules``: ``left-pad``
    or ``@scope/name`` for a hoisted package, ``a/node_modules/b`` for a copy
    nested under another package.
    """

    text: str
    versions: dict[str, str] = field(default_factory=dict)


# --- tools ------------------------------------------------------------------


def uv_binary():
    """Return the path of the uv executable, or None when there is none."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def npm_binary():
    """Return the path of the npm executable, or None when there is none."""
    return shutil.which("npm")


@functools.lru_cache(maxsize=8)
def _tool_version(binary):
    result = subprocess.run(
        [binary, "--version"], check=False, capture_output=True, text=True, timeout=60
    )
    words = result.stdout.split()
    # uv says "uv 0.13.9 (...)", npm says "11.19.1".
    return words[1] if words and words[0] == "uv" else "".join(words[:1])


def uv_version():
    """Return the version of uv, or "" when uv is missing."""
    binary = uv_binary()
    return _tool_version(binary) if binary else ""


def npm_version():
    """Return the version of npm, or "" when npm is missing."""
    binary = npm_binary()
    return _tool_version(binary) if binary else ""


@dataclass(frozen=True)
class ToolResult:
    """What one tool invocation gave; ``returncode`` is None if it never ended."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self):
        return self.returncode == 0

    def tail(self, lines=TAIL_LINES):
        """Return the last meaningful lines of the tool's output."""
        kept = [
            line.rstrip()
            for line in (self.stdout + "\n" + self.stderr).splitlines()
            if line.strip() and not _is_noise(line)
        ]
        return "\n".join(kept[-lines:])


def _is_noise(line):
    # npm points at a debug log in the user's cache, which is of no use to
    # someone reading a run in the admin.
    return "A complete log of this run can be found in" in line


def tool_timeout():
    """Return how many seconds one uv or npm invocation may take."""
    return getattr(settings, "SKILLINSTALL_TOOL_TIMEOUT", DEFAULT_TOOL_TIMEOUT)


def run_tool(args, *, cwd, env, log, what):
    """Run one tool invocation, log the command and its timing, return a result."""
    args = [str(arg) for arg in args]
    shown = redact(shlex.join([Path(args[0]).name, *args[1:]]))
    log(f"$ {shown}")
    started = time.monotonic()
    try:
        completed = subprocess.run(
            args,
            check=False,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=tool_timeout(),
        )
    except subprocess.TimeoutExpired:
        result = ToolResult(
            None, "", f"{what} timed out after {tool_timeout()} seconds.", 0.0
        )
    except OSError as exc:
        result = ToolResult(None, "", f"{what} could not start: {exc}.", 0.0)
    else:
        result = ToolResult(
            completed.returncode,
            completed.stdout,
            completed.stderr,
            time.monotonic() - started,
        )

    log(f"{what} finished in {result.seconds:.2f}s (exit {result.returncode})")
    logger.info(
        "tool=%s exit=%s seconds=%.2f",
        Path(args[0]).name,
        result.returncode,
        result.seconds,
    )
    return result


def redact(text):
    """Return ``text`` with the credentials of any URL in it masked."""
    return re.sub(r"://[^/@\s]+@", "://***@", text)


def uv_environment():
    """Return the environment uv runs in: no UV_* variable steers it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in _UV_PASSTHROUGH
        or not key.startswith(("UV_", "VIRTUAL_ENV", "CONDA_", "PYTHON"))
    }
    env["NO_COLOR"] = "1"
    return env


def npm_environment():
    """Return the environment npm runs in: no npm_config_* variable steers it."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.lower().startswith("npm_config_")
    }


def target_platform():
    """Return uv's target triple for SKILLINSTALL_TARGET_PLATFORM."""
    value = settings.SKILLINSTALL_TARGET_PLATFORM.strip().lower()
    if "-" in value:
        # Already a uv target such as x86_64-manylinux_2_28.
        return value
    if value not in _PLATFORM_TRIPLES:
        raise ResolutionError(
            f"SKILLINSTALL_TARGET_PLATFORM {value!r} is not one of "
            f"{', '.join(sorted(_PLATFORM_TRIPLES))} or a uv target triple."
        )
    machine = platform.machine().lower()
    return _PLATFORM_TRIPLES[value].format(arch=_MACHINE_ARCH.get(machine, machine))


def uv_index_args():
    """Return uv's index options for the configured index and find-links."""
    args = []
    if settings.SKILLINSTALL_NO_INDEX:
        args.append("--no-index")
    elif settings.SKILLINSTALL_INDEX_URL:
        args += ["--default-index", settings.SKILLINSTALL_INDEX_URL]
    for location in settings.SKILLINSTALL_FIND_LINKS:
        args += ["--find-links", str(location)]
    return args


def uv_build_args(sdists=()):
    """Return uv's options for wheels only, except the named source builds."""
    args = ["--only-binary", ":all:"]
    for name in sorted(sdists):
        args += ["--no-binary", name]
    return args


def allowed_sdists():
    """Return the canonical names whose source distributions may be built."""
    return {canonicalize_name(name) for name in settings.SKILLINSTALL_ALLOW_SDISTS}


def npm_registry():
    """Return the registry npm resolves against: configured, else npm's own."""
    if settings.SKILLINSTALL_NPM_REGISTRY:
        return settings.SKILLINSTALL_NPM_REGISTRY.rstrip("/") + "/"
    binary = npm_binary()
    if not binary:
        return ""
    return _machine_npm_registry(binary)


@functools.lru_cache(maxsize=4)
def _machine_npm_registry(binary):
    # Read before the userconfig is replaced, from the machine's normal
    # configuration, so that an operator's registry keeps working. Read once
    # per process: starting npm costs a third of a second, and a cache hit
    # must not pay it; a changed npm configuration takes effect on restart.
    root = Path(settings.SKILLINSTALL_WORK_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            [binary, "config", "get", "registry"],
            check=False,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ResolutionError(
            f"npm could not say which registry it uses: {exc}"
        ) from None
    registry = result.stdout.strip()
    if result.returncode != 0 or not registry:
        raise ResolutionError(
            "npm could not say which registry it uses: "
            f"{result.stderr.strip() or 'no output'}"
        )
    return registry.rstrip("/") + "/"


def write_npm_userconfig(path, registry):
    """Write the npm configuration every npm call of skillinstall uses."""
    lines = [
        # A lock must name where each tarball came from, whatever the
        # machine's own npmrc says.
        "omit-lockfile-registry-resolved=false",
        "audit=false",
        "fund=false",
        "update-notifier=false",
        "ignore-scripts=true",
        "progress=false",
    ]
    if registry:
        lines.insert(0, f"registry={registry}")
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def npm_manifest(dependencies):
    """Return the package.json text of an environment with ``dependencies``."""
    manifest = {**NPM_PROJECT, "private": True, "dependencies": dict(dependencies)}
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


@contextmanager
def scratch_directory(prefix):
    """Yield a fresh directory under SKILLINSTALL_WORK_ROOT; remove it after."""
    root = Path(settings.SKILLINSTALL_WORK_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def resolver_settings():
    """Return everything besides the specs that changes what a resolution gives."""
    return {
        "index_url": settings.SKILLINSTALL_INDEX_URL,
        "find_links": [str(location) for location in settings.SKILLINSTALL_FIND_LINKS],
        "no_index": bool(settings.SKILLINSTALL_NO_INDEX),
        "allow_sdists": sorted(allowed_sdists()),
        "npm_registry": npm_registry(),
        "target_python": settings.SKILLINSTALL_TARGET_PYTHON,
        "target_platform": target_platform(),
        "uv_version": uv_version(),
        "npm_version": npm_version(),
    }


# --- Python -----------------------------------------------------------------

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_OPERATOR = r"(?:===|==|!=|>=|<=|~=|<|>)"
# Where a package name stands in uv's "Because ..." explanations.
_MENTIONS = [
    re.compile(rf"\ball versions of ({_NAME})"),
    re.compile(rf"\b({_NAME})(?:\[[^\]]*\])?{_OPERATOR}"),
    re.compile(rf"\b({_NAME}) was not found\b"),
    re.compile(rf"\bthere is no version of ({_NAME})"),
    re.compile(rf"\bdepends? on ({_NAME})"),
]
_YOU_REQUIRE = re.compile(r"\byou require (.+?)(?:, we can conclude|$)")
_NOT_FOUND = re.compile(rf"\bBecause ({_NAME}) was not found in the ")
_NO_VERSION = re.compile(
    r"^Because (?:only (?P<available>.+?) (?:is|are) available"
    r"|there is no version of \S+) and you require (?P<spec>\S+), "
    r"we can conclude that your requirements are unsatisfiable\.$"
)
_WHEELS_REQUIRED = [
    re.compile(r"Wheels are required for `([^`]+)`"),
    re.compile(rf"\b({_NAME})==\S+ has no usable wheels\b"),
]


def _checked_requirements(lines, kind):
    checked = []
    for line in lines:
        text = str(line).strip()
        if not text:
            continue
        # Each entry becomes one line of a requirements file, where a line
        # starting with "-" would be read as an option to uv.
        try:
            if "\n" in text or "\r" in text or text.startswith("-"):
                raise InvalidRequirement(text)
            Requirement(text)
        except InvalidRequirement:
            raise InvalidSpecError(
                f"Python {kind} {text!r} is not a valid PEP 508 requirement."
            ) from None
        checked.append(text)
    return checked


def _require_uv():
    binary = uv_binary()
    if not binary:
        raise ResolutionError(
            "uv is not installed, so Python requirements cannot be resolved."
        )
    return binary


def resolve_python(requirements, *, constraints=(), log=_ignore):
    """Resolve PEP 508 ``requirements`` transitively into a hash-pinned lock.

    ``constraints`` limit versions without adding packages; the platform
    constraints file is the caller's to pass in.
    """
    requirements = _checked_requirements(requirements, "requirement")
    constraints = _checked_requirements(constraints, "constraint")
    if not requirements:
        log("No Python requirements: nothing to resolve.")
        return PythonLock("", {})

    uv = _require_uv()
    allowed = allowed_sdists()
    sdists = set()
    with scratch_directory("resolve-python") as scratch:
        (scratch / "requirements.in").write_text("\n".join(requirements) + "\n")
        (scratch / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints))
        while True:
            result = run_tool(
                _compile_args(uv, sdists),
                cwd=scratch,
                env=uv_environment(),
                log=log,
                what="uv pip compile",
            )
            if result.ok:
                break
            # Wheels come first; a named sdist is built only once uv shows
            # that without it there is no solution.
            wanted = (_wheel_less(result.stderr) & allowed) - sdists
            if not wanted:
                raise _python_error(result)
            log(f"Allowing source builds of {', '.join(sorted(wanted))}.")
            sdists |= wanted

        lock = normalise_python_lock((scratch / "lock.txt").read_text(), sdists)

    log(f"Resolved {len(lock.versions)} Python packages.")
    logger.info("resolved ecosystem=python packages=%s", len(lock.versions))
    return lock


def _compile_args(uv, sdists):
    return [
        uv,
        "pip",
        "compile",
        "requirements.in",
        "--constraints",
        "constraints.txt",
        "--output-file",
        "lock.txt",
        "--no-config",
        "--quiet",
        "--color",
        "never",
        "--no-header",
        "--no-annotate",
        "--generate-hashes",
        # Any interpreter serves: the target below decides markers and wheels.
        "--python",
        sys.executable,
        "--python-version",
        settings.SKILLINSTALL_TARGET_PYTHON,
        "--python-platform",
        target_platform(),
        *uv_build_args(sdists),
        *uv_index_args(),
    ]


def _wheel_less(stderr):
    names = set()
    for pattern in _WHEELS_REQUIRED:
        names |= {canonicalize_name(m) for m in pattern.findall(stderr)}
    return names


def normalise_python_lock(text, sdists=()):
    """Return a PythonLock of uv's output: no comments, sorted, hashes required."""
    entries = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip().removesuffix("\\").strip()
        if not line or line.startswith("#"):
            continue
        if raw[:1].isspace() and current is not None:
            if line.startswith("--hash="):
                entries[current][1].append(line)
            continue
        if line.startswith("-"):
            # Build options are rewritten below from what was allowed.
            continue
        pin = _PIN.match(line)
        if not pin:
            raise ResolutionError(
                f"uv wrote a lock entry skillinstall cannot read: {line!r}."
            )
        current = canonicalize_name(pin["name"])
        entries[current] = (pin["version"], [])

    unhashed = sorted(name for name, (_, hashes) in entries.items() if not hashes)
    if unhashed:
        raise ResolutionError(
            f"uv recorded no hash for {', '.join(unhashed)}, so the lock could "
            "not be verified at build time."
        )

    built = {canonicalize_name(name) for name in sdists} & set(entries)
    lines = [f"--no-binary {name}" for name in sorted(built)]
    for name in sorted(entries):
        version, hashes = entries[name]
        block = [f"{name}=={version}", *(f"    {h}" for h in sorted(set(hashes)))]
        lines.append(" \\\n".join(block))
    versions = {name: entries[name][0] for name in sorted(entries)}
    return PythonLock("\n".join(lines) + "\n" if lines else "", versions)


def python_lock_sdists(text):
    """Return the names a Python lock builds from source, checking its options."""
    names = set()
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("-") or stripped.startswith("--hash="):
            continue
        option, _, value = stripped.partition(" ")
        if option != "--no-binary" or not value:
            raise ResolutionError(
                f"The Python lock carries an option skillinstall does not "
                f"accept: {stripped!r}."
            )
        names.add(canonicalize_name(value))
    return names


def _explanation(stderr):
    lines = []
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line or line.startswith(("error: No solution found", "warning:")):
            continue
        lines.append(line.removeprefix("cause: "))
    return "\n".join(lines)


def _mentioned(explanation):
    names = []
    for pattern in _MENTIONS:
        names += pattern.findall(explanation)
    for listed in _YOU_REQUIRE.findall(explanation):
        for part in re.split(r",\s*|\s+and\s+", listed):
            match = re.match(_NAME, part.strip())
            if match:
                names.append(match.group())
    return sorted({canonicalize_name(name) for name in names})


def _python_error(result):
    if result.returncode is None:
        return ResolutionError(result.stderr, explanation=result.stderr)

    explanation = _explanation(result.stderr)
    packages = _mentioned(explanation)

    missing = _NOT_FOUND.search(explanation)
    if missing:
        name = canonicalize_name(missing.group(1))
        return PackageNotFoundError(
            f"Python package {name!r} was not found on the configured index.",
            packages=packages,
            explanation=explanation,
        )

    no_version = _NO_VERSION.match(explanation)
    if no_version:
        requirement = Requirement(no_version["spec"])
        message = (
            f"No version of {canonicalize_name(requirement.name)!r} matches "
            f"{str(requirement.specifier)!r}"
        )
        if no_version["available"]:
            message += f": only {no_version['available']} is available"
        return PackageNotFoundError(
            message + ".", packages=packages, explanation=explanation
        )

    wheel_less = sorted(_wheel_less(result.stderr) - allowed_sdists())
    if wheel_less:
        names = ", ".join(repr(name) for name in wheel_less)
        return ResolutionError(
            f"Python package {names} has no wheel for this target, and building "
            "from source is not allowed: add it to SKILLINSTALL_ALLOW_SDISTS to "
            "let its build code run.",
            packages=packages,
            explanation=explanation,
        )

    if "No solution found" in result.stderr:
        return ResolutionError(
            "No set of versions satisfies the Python requirements together; "
            f"the conflict involves {', '.join(packages) or 'unnamed packages'}.",
            packages=packages,
            explanation=explanation,
        )

    return ResolutionError(
        f"uv could not resolve the Python requirements: {result.tail(3)}",
        packages=packages,
        explanation=explanation or result.tail(),
    )


# --- npm --------------------------------------------------------------------

_NPM_CODE = re.compile(r"^npm (?:error|ERR!) code (\S+)", re.MULTILINE)
_NPM_MISSING = re.compile(r"'(\S+)' could not be found")
_NPM_NO_MATCH = re.compile(r"No matching version found for (\S+?)\.?$", re.MULTILINE)


def _require_npm():
    binary = npm_binary()
    if not binary:
        raise ResolutionError(
            "npm is not on PATH, so npm dependencies cannot be resolved."
        )
    return binary


def _split_npm_spec(spec):
    # "@scope/name@^1" splits at the last "@" that is not the scope's.
    name, at, wanted = spec[1:].rpartition("@")
    if not at:
        return spec, ""
    return spec[0] + name, wanted


def resolve_npm(dependencies, *, log=_ignore):
    """Resolve npm ``dependencies`` (name -> range) into a normalised lock."""
    dependencies = {str(name): str(spec) for name, spec in dependencies.items()}
    if not dependencies:
        log("No npm dependencies: nothing to resolve.")
        return NpmLock("", {})

    npm = _require_npm()
    registry = npm_registry()
    with scratch_directory("resolve-npm") as scratch:
        project = scratch / "project"
        project.mkdir()
        (project / "package.json").write_text(npm_manifest(dependencies))
        userconfig = write_npm_userconfig(scratch / "npmrc", registry)
        log(f"npm registry: {redact(registry)}")
        result = run_tool(
            [
                npm,
                "install",
                "--package-lock-only",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--userconfig",
                userconfig,
            ],
            cwd=project,
            env=npm_environment(),
            log=log,
            what="npm install --package-lock-only",
        )
        if not result.ok:
            raise _npm_error(result, npm=npm, userconfig=userconfig, cwd=project)

        lock = normalise_npm_lock((project / "package-lock.json").read_text())

    log(f"Resolved {len(lock.versions)} npm packages.")
    logger.info("resolved ecosystem=npm packages=%s", len(lock.versions))
    return lock


def normalise_npm_lock(text):
    """Return an NpmLock of npm's package-lock.json text."""
    lock = json.loads(text)
    for key in NPM_PROJECT:
        lock.pop(key, None)
        lock.get("packages", {}).get("", {}).pop(key, None)

    versions = {}
    for path, entry in sorted(lock.get("packages", {}).items()):
        if not path.startswith("node_modules/") or entry.get("link"):
            continue
        name = path.removeprefix("node_modules/")
        missing = [key for key in ("resolved", "integrity") if not entry.get(key)]
        if missing:
            raise ResolutionError(
                f"npm recorded no {' or '.join(missing)} for {name!r}, so its "
                "tarball could not be verified at build time.",
                packages=[name],
            )
        versions[name] = entry["version"]
    return NpmLock(json.dumps(lock, indent=2, sort_keys=True) + "\n", versions)


def _npm_explanation(result):
    lines = []
    for raw in (result.stdout + "\n" + result.stderr).splitlines():
        line = re.sub(r"^npm (?:error|ERR!)", "", raw).strip()
        if line != raw.strip() and line and not _is_noise(line):
            lines.append(line)
    return "\n".join(lines)


def _npm_error(result, *, npm, userconfig, cwd):
    if result.returncode is None:
        return ResolutionError(result.stderr, explanation=result.stderr)

    output = result.stdout + "\n" + result.stderr
    explanation = _npm_explanation(result)
    code = _NPM_CODE.search(output)
    code = code.group(1) if code else ""

    missing = _NPM_MISSING.search(output)
    if code == "E404" and missing:
        name = _split_npm_spec(missing.group(1))[0]
        return PackageNotFoundError(
            f"npm package {name!r} was not found on the configured registry.",
            packages=[name],
            explanation=explanation,
        )

    no_match = _NPM_NO_MATCH.search(output)
    if code == "ETARGET" and no_match:
        name, wanted = _split_npm_spec(no_match.group(1))
        message = f"No version of {name!r} matches {wanted!r}"
        available = _npm_versions(npm, name, userconfig=userconfig, cwd=cwd)
        if len(available) > NPM_VERSIONS_SHOWN:
            shown = ", ".join(available[-NPM_VERSIONS_SHOWN:])
            message += f": the newest available versions are {shown}"
        elif available:
            message += f": available versions are {', '.join(available)}"
        return PackageNotFoundError(
            message + ".", packages=[name], explanation=explanation
        )

    return ResolutionError(
        f"npm could not resolve the npm dependencies ({code or 'no error code'}): "
        f"{result.tail(3)}",
        explanation=explanation or result.tail(),
    )


def _npm_versions(npm, name, *, userconfig, cwd):
    # Only to make the error message say what there is; a failure here
    # leaves the message without the list.
    try:
        result = subprocess.run(
            [npm, "view", name, "versions", "--json", "--userconfig", userconfig],
            check=False,
            cwd=cwd,
            env=npm_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        versions = json.loads(result.stdout) if result.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return []
    return [versions] if isinstance(versions, str) else list(versions)
