"""The default backend: one uv-made virtual environment per dependency hash.

An environment is built in ``<hash>.partial-<run>``, checked, marked complete
and renamed into place; the venv is relocatable, so the rename is safe.
"""

import csv
import json
import logging
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings

from installs import resolver
from installs.backends.base import BaseBackend, BuildResult
from installs.exceptions import (
    BackendUnavailableError,
    BuildError,
    SkillInstallError,
)

logger = logging.getLogger(__name__)

# Written last into a finished environment; a directory without it is never
# used, whatever else it holds.
MARKER = ".skillinstall-complete"
_SAFE_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_EXTENSION_SUFFIXES = (".so", ".pyd")

# Runs inside the new environment: import each module named on the command
# line and report the failures as JSON, so that one bad import does not hide
# the next.
_IMPORT_CHECK = """\
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failed))
"""


def _ignore(line):
    pass


def _safe_part(value, what):
    value = str(value)
    if not _SAFE_PART.match(value):
        raise BuildError(f"{what} {value!r} cannot name a directory.")
    return value


def tree_size(path):
    """Return the bytes held under ``path``, counting hard links once."""
    seen = set()
    total = 0
    for directory, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            try:
                stat = os.lstat(os.path.join(directory, name))
            except FileNotFoundError:
                continue
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_size
    return total


class VenvBackend(BaseBackend):
    """Environments as relocatable virtual environments under the artifact root."""

    name = "venv"
    supports_npm = True
    isolated_network = False

    @property
    def root(self):
        return Path(settings.SKILLINSTALL_ARTIFACT_ROOT)

    def validate(self):
        if not resolver.uv_binary():
            raise BackendUnavailableError(
                "The venv backend needs uv, which is not installed."
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            descriptor, probe = tempfile.mkstemp(prefix=".probe-", dir=self.root)
            os.close(descriptor)
            os.unlink(probe)
        except OSError as exc:
            raise BackendUnavailableError(
                f"The artifact root {self.root} is not writable: {exc.strerror}."
            ) from None

    def reference_for(self, dependency_hash):
        return str(self.root / _safe_part(dependency_hash, "Dependency hash"))

    def partial_path(self, dependency_hash, run_id):
        """Return where the build of ``dependency_hash`` by ``run_id`` happens."""
        dependency_hash = _safe_part(dependency_hash, "Dependency hash")
        return self.root / f"{dependency_hash}.partial-{_safe_part(run_id, 'Run id')}"

    def exists(self, reference):
        path = Path(reference)
        return path.is_dir() and (path / MARKER).is_file()

    def build(self, *, dependency_hash, python_lock, npm_lock, run_id, log=_ignore):
        final = Path(self.reference_for(dependency_hash))
        if self.exists(final):
            log(f"Environment {final} is already built.")
            return BuildResult(reference=str(final), size_bytes=tree_size(final))

        partial = self.partial_path(dependency_hash, run_id)
        # A retried run starts over rather than trusting what it left.
        self._discard(partial)
        log(f"Building environment in {partial}.")
        logger.info("build start hash=%s run=%s", dependency_hash, run_id)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._create_venv(partial, log)
            if python_lock.strip():
                self._install_python(partial, python_lock, log)
            if npm_lock.strip():
                self._install_npm(partial / "node", npm_lock, log)
            self._check_python(partial, log)
            (partial / MARKER).write_text(f"{dependency_hash}\n")
            final = self._publish(partial, final, log)
        except BaseException as exc:
            self._discard(partial)
            if isinstance(exc, BuildError) or not isinstance(exc, Exception):
                raise
            if isinstance(exc, SkillInstallError):
                raise BuildError(exc.message) from exc
            raise BuildError(
                f"Building environment {dependency_hash} failed: {exc}"
            ) from exc

        size = tree_size(final)
        log(f"Environment ready at {final} ({size} bytes).")
        logger.info("build done hash=%s run=%s bytes=%s", dependency_hash, run_id, size)
        return BuildResult(reference=str(final), size_bytes=size)

    def remove(self, reference):
        path = Path(reference)
        if not path.exists():
            return
        if path.resolve().parent != self.root.resolve():
            raise BuildError(
                f"Refusing to remove {reference}: it is not an environment in "
                f"the artifact root {self.root}."
            )
        self._discard(path)
        logger.info("removed reference=%s", reference)

    def remove_partial(self, dependency_hash, run_id):
        self._discard(self.partial_path(dependency_hash, run_id))

    # --- steps --------------------------------------------------------------

    def _interpreter(self):
        # The service's own interpreter when it is the target; otherwise uv
        # finds one of the target version on this machine.
        target = settings.SKILLINSTALL_TARGET_PYTHON.strip()
        parts = target.split(".")
        if list(platform.python_version_tuple()[: len(parts)]) == parts:
            return sys.executable
        return target

    def _run(self, args, *, cwd, env, log, what):
        result = resolver.run_tool(args, cwd=cwd, env=env, log=log, what=what)
        for line in result.tail(50).splitlines():
            log(f"  {line}")
        if not result.ok:
            raise BuildError(
                f"{what} failed (exit {result.returncode}):\n{result.tail()}"
            )
        return result

    def _create_venv(self, partial, log):
        uv = resolver.uv_binary()
        self._run(
            [
                uv,
                "venv",
                "--no-config",
                "--relocatable",
                "--no-python-downloads",
                "--python",
                self._interpreter(),
                partial,
            ],
            cwd=self.root,
            env=resolver.uv_environment(),
            log=log,
            what="uv venv",
        )

    def _install_python(self, partial, python_lock, log):
        sdists = resolver.python_lock_sdists(python_lock)
        refused = sorted(sdists - resolver.allowed_sdists())
        if refused:
            raise BuildError(
                f"The Python lock builds {', '.join(refused)} from source, which "
                "SKILLINSTALL_ALLOW_SDISTS no longer allows."
            )

        requirements = [
            line
            for line in python_lock.splitlines()
            if not line.startswith("--no-binary ")
        ]
        lock_file = partial / "python.lock.txt"
        lock_file.write_text("\n".join(requirements) + "\n")
        self._run(
            [
                resolver.uv_binary(),
                "pip",
                "sync",
                lock_file,
                "--no-config",
                "--color",
                "never",
                "--no-progress",
                "--python",
                partial / "bin" / "python",
                "--require-hashes",
                *resolver.uv_build_args(sdists),
                *resolver.uv_index_args(),
            ],
            cwd=partial,
            env=resolver.uv_environment(),
            log=log,
            what="uv pip sync",
        )

    def _install_npm(self, node, npm_lock, log):
        npm = resolver.npm_binary()
        if not npm:
            raise BuildError("npm is not on PATH, so the npm part cannot be built.")
        lock = json.loads(npm_lock)
        dependencies = lock.get("packages", {}).get("", {}).get("dependencies", {})
        node.mkdir()
        (node / "package.json").write_text(resolver.npm_manifest(dependencies))
        (node / "package-lock.json").write_text(npm_lock)

        with resolver.scratch_directory("npmrc") as scratch:
            userconfig = resolver.write_npm_userconfig(
                scratch / "npmrc", resolver.npm_registry()
            )
            self._run(
                [
                    npm,
                    "ci",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                    "--userconfig",
                    userconfig,
                ],
                cwd=node,
                env=resolver.npm_environment(),
                log=log,
                what="npm ci",
            )

    def _check_python(self, partial, log):
        python = partial / "bin" / "python"
        modules = top_level_modules(partial)
        groups = _import_groups(partial, modules, os.cpu_count() or 1)
        if modules:
            log(
                f"Importing {len(modules)} top-level modules in {len(groups)} processes."
            )

        # The dependency check and the imports only read the environment, and
        # importing (which compiles every module it touches) is most of a
        # build's time for large packages: run them side by side. Each
        # process logs into its own list; the run's log is written here.
        def run(args, what):
            lines = []
            result = resolver.run_tool(
                args,
                cwd=partial,
                env=resolver.uv_environment(),
                log=lines.append,
                what=what,
            )
            return result, lines

        check_args = [resolver.uv_binary(), "pip", "check", "--no-config"]
        jobs = [(check_args + ["--python", python], "uv pip check")]
        jobs += [
            ([python, "-I", "-c", _IMPORT_CHECK, *group], "import check")
            for group in groups
        ]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            outcomes = list(pool.map(lambda job: run(*job), jobs))

        failed = {}
        for (args, what), (result, lines) in zip(jobs, outcomes):
            for line in lines:
                log(line)
            if what == "uv pip check":
                for line in result.tail(50).splitlines():
                    log(f"  {line}")
                if not result.ok:
                    raise BuildError(
                        f"uv pip check failed (exit {result.returncode}):\n{result.tail()}"
                    )
                continue
            try:
                failed.update(json.loads(result.stdout.strip().splitlines()[-1]))
            except (IndexError, json.JSONDecodeError):
                raise BuildError(f"The import check did not finish:\n{result.tail()}")
        if failed:
            causes = "; ".join(
                f"{module!r} from {modules[module]} ({error})"
                for module, error in sorted(failed.items())
            )
            raise BuildError(f"Importing installed packages failed: {causes}.")

    def _publish(self, partial, final, log):
        if final.exists() and not self.exists(final):
            # Left over from an interrupted removal: never complete, never used.
            self._discard(final)
        try:
            os.rename(partial, final)
        except OSError:
            if not self.exists(final):
                raise
            # Another run built the same lock first: theirs is as good.
            log(f"Environment {final} was finished by another run.")
            self._discard(partial)
        return final

    def _discard(self, path):
        path = Path(path)
        if not path.exists():
            return
        # Renaming first makes the directory vanish at once for readers, and
        # frees its name for a concurrent build.
        doomed = path.with_name(f".{path.name}.removing-{secrets.token_hex(4)}")
        try:
            os.rename(path, doomed)
        except OSError:
            doomed = path
        shutil.rmtree(doomed, ignore_errors=True)


def _import_groups(venv, modules, count):
    """Split ``modules`` into at most ``count`` groups of similar size on disk.

    The largest packages take longest to import; dealing them out largest
    first, each to the lightest group so far, keeps the processes even.
    """
    if not modules:
        return []
    site = next(Path(venv).glob("lib/python*/site-packages"))
    sizes = {}
    for module in modules:
        package, single = site / module, site / f"{module}.py"
        sizes[module] = (
            tree_size(package)
            if package.is_dir()
            else (single.stat().st_size if single.is_file() else 0)
        )
    groups = [[] for _ in range(min(count, len(modules)))]
    loads = [0] * len(groups)
    for module in sorted(modules, key=lambda m: (-sizes[m], m)):
        lightest = loads.index(min(loads))
        groups[lightest].append(module)
        loads[lightest] += sizes[module]
    return [sorted(group) for group in groups]


def top_level_modules(venv):
    """Return {module: "dist version"} for the importable tops in ``venv``."""
    modules = {}
    for dist_info in sorted(Path(venv).glob("lib/python*/site-packages/*.dist-info")):
        dist = dist_info.name.removesuffix(".dist-info").replace("-", " ", 1)
        for module in _dist_modules(dist_info):
            modules.setdefault(module, dist)
    return modules


def _dist_modules(dist_info):
    top_level = dist_info / "top_level.txt"
    if top_level.is_file():
        names = top_level.read_text().split()
    else:
        names = []
        record = dist_info / "RECORD"
        rows = csv.reader(record.read_text().splitlines()) if record.is_file() else []
        for row in rows:
            names.append(_module_of(row[0]) if row else None)
    return sorted({name for name in names if name and name.isidentifier()})


def _module_of(path):
    first, slash, _ = path.partition("/")
    if first in ("..", "__pycache__") or first.endswith((".dist-info", ".data")):
        return None
    if slash:
        return first
    if first.endswith(".py"):
        return first.removesuffix(".py")
    if first.endswith(_EXTENSION_SUFFIXES):
        return first.split(".", 1)[0]
    return None
