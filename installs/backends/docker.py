"""The Docker backend: one image per dependency hash, built with no network.

Packages are fetched on the host, where the network and the index settings
are, into a build context; the image build itself runs with networking off
and installs only what the context carries, checked against the lock's
hashes.

Notes on how the parts cooperate:

- The build has two stages. The first makes the environment under
  ``/opt/skill`` from the context and checks it; the second copies only
  ``/opt/skill`` onto a fresh base, so the wheels never reach the image.
- The first stage's images and the final image carry ``skillinstall.run``;
  only the final one carries ``skillinstall.complete``. The tag is applied by the engine when
  the whole build succeeds, so a reader that finds the tag with the
  completion label sees a whole environment, and cleanup after a failure
  removes exactly the run's images that lack it.
- npm runs on the host (``npm ci --ignore-scripts``) and the resulting
  ``node_modules`` is copied in, since it does not depend on where it lives;
  the base image therefore needs Node but not npm.

Known shortcomings: Python packages must be wheels, because building a source
distribution inside an image with no network has no build backend to use;
this holds until the base image carries build tools and the context carries
the build requirements. The import check imports each locked distribution's
top-level modules, so a package that cannot be imported without extra
configuration fails the build. A build stopped by a signal hangs up on the
engine and cleans up, but the engine may still commit the step it was on;
that image keeps the run's label, and ``remove_partial`` removes it once the
engine is done. A killed worker cleans up nothing until then.
"""

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import deque
from contextlib import closing
from importlib.util import find_spec

import docker
import requests
from django.conf import settings
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from installs import resolver
from installs.backends.base import BaseBackend, BuildResult
from installs.exceptions import BackendUnavailableError, BuildError

logger = logging.getLogger(__name__)

IMAGE_REPOSITORY = "skillinstall/env"
RUN_LABEL = "skillinstall.run"
COMPLETE_LABEL = "skillinstall.complete"
DEFAULT_ENGINE_URL = "unix:///var/run/docker.sock"

# Seconds: a quick question to the engine, and one whole step of a build.
ENGINE_TIMEOUT = 30
STEP_TIMEOUT = 1800
# Lines of a failing step's output that BuildError carries.
TAIL_LINES = 30

# pip variables about how to reach an index, never which one to use.
PIP_PASSTHROUGH = {
    "PIP_CACHE_DIR",
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_PROXY",
    "PIP_RETRIES",
    "PIP_TRUSTED_HOST",
}

HASH_PATTERN = re.compile(r"[0-9a-f]{16,64}")
# The engine colours what a build step writes to stderr.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

PYTHON_CHECK = '''\
"""Import the top-level modules of every distribution the lock names."""

import importlib
import importlib.metadata
import re
import sys

NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\\s*(?:\\[[^\\]]*\\])?\\s*==")


def top_level(dist):
    text = dist.read_text("top_level.txt")
    if text:
        return sorted(set(text.split()))
    names = set()
    for path in dist.files or ():
        parts = path.parts
        if parts[0] in ("..", "__pycache__") or parts[0].endswith(
            (".dist-info", ".data")
        ):
            continue
        if len(parts) == 1 and path.suffix in (".py", ".so"):
            names.add(parts[0].split(".")[0])
        elif len(parts) > 1 and parts[1] == "__init__.py":
            names.add(parts[0])
    return sorted(names)


failures = []
imported = 0
with open(sys.argv[1]) as lock:
    for line in lock:
        match = NAME.match(line)
        if not match:
            continue
        try:
            dist = importlib.metadata.distribution(match[1])
        except importlib.metadata.PackageNotFoundError:
            # Its markers left it out of this environment.
            continue
        for module in top_level(dist):
            if not module.isidentifier():
                continue
            try:
                importlib.import_module(module)
            except Exception as exc:
                failures.append(f"{match[1]}: import {module} failed: {exc!r}")
            else:
                imported += 1

if failures:
    print("\\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"import check: {imported} modules imported")
'''

NODE_CHECK = """\
const fs = require("fs");
const path = require("path");

const root = "/opt/skill/node";
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json")));
const names = Object.keys(manifest.dependencies || {});
const missing = names.filter(
  (name) => !fs.existsSync(path.join(root, "node_modules", name, "package.json")),
);
if (missing.length) {
  console.error(`npm packages missing from node_modules: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`npm check: ${names.length} packages present`);
"""


# The first stage makes and checks /opt/skill; the second keeps only that, and
# labels only its last image, so after a success the run's one labelled image
# is the complete one.
DOCKERFILE = """\
FROM {base} AS build
LABEL {run_label}
COPY checks /ctx/checks
RUN mkdir -p /opt/skill
{build_steps}
FROM {base}
COPY --from=build /opt/skill /opt/skill
ENV PATH=/opt/skill/env/bin:/opt/skill/node/node_modules/.bin:$PATH \\
    NODE_PATH=/opt/skill/node/node_modules
LABEL {run_label} {complete_label}
"""

PYTHON_STEPS = """\
COPY python /ctx/python
RUN python3 -m venv /opt/skill/env \\
 && /opt/skill/env/bin/pip install --disable-pip-version-check --no-input \\
      --no-index --only-binary=:all: --require-hashes \\
      --find-links /ctx/python/wheels --requirement /ctx/python/requirements.txt \\
 && /opt/skill/env/bin/python /ctx/checks/python_imports.py \\
      /ctx/python/requirements.txt
"""

NODE_STEPS = """\
COPY node /opt/skill/node
RUN node /ctx/checks/node_modules.js
"""


def engine_url():
    """Return the address of the Docker engine this backend talks to."""
    return (
        settings.SKILLINSTALL_DOCKER_URL
        or os.environ.get("DOCKER_HOST")
        or DEFAULT_ENGINE_URL
    )


class DockerBackend(BaseBackend):
    name = "docker"
    isolated_network = True

    def validate(self):
        base = settings.SKILLINSTALL_DOCKER_BASE_IMAGE
        with closing(self._client()) as client:
            try:
                client.images.get(base)
            except ImageNotFound:
                raise BackendUnavailableError(
                    f"The Docker base image {base!r} is not present in the engine "
                    f"at {engine_url()}; make it with scripts/base_image.sh."
                ) from None
            except (DockerException, requests.RequestException) as exc:
                raise self._unreachable(exc) from exc

        # Wheels are fetched on the host with the running interpreter's pip.
        if find_spec("pip") is None:
            raise BackendUnavailableError(
                f"The docker backend downloads wheels with pip, which {sys.executable}"
                " does not have."
            )

    def reference_for(self, dependency_hash):
        if not HASH_PATTERN.fullmatch(dependency_hash):
            raise ValueError(f"Not a dependency hash: {dependency_hash!r}")
        return f"{IMAGE_REPOSITORY}:{dependency_hash}"

    def exists(self, reference):
        with closing(self._client()) as client:
            try:
                image = client.images.get(reference)
            except ImageNotFound:
                return False
        # The tag is the hash, so the label must name the same one.
        return image.labels.get(COMPLETE_LABEL) == reference.rpartition(":")[2]

    def build(self, *, dependency_hash, python_lock, npm_lock, run_id, log):
        reference = self.reference_for(dependency_hash)
        context = self._context_dir(dependency_hash, run_id)
        self.validate()

        shutil.rmtree(context, ignore_errors=True)
        context.mkdir(parents=True)
        logger.info("docker build started hash=%s run=%s", dependency_hash, run_id)
        try:
            with closing(self._client(timeout=STEP_TIMEOUT)) as client:
                try:
                    self._prepare_context(
                        context,
                        dependency_hash=dependency_hash,
                        python_lock=python_lock,
                        npm_lock=npm_lock,
                        run_id=run_id,
                        log=log,
                    )
                    self._build_image(
                        client, context, reference, dependency_hash, run_id, log
                    )
                    image = client.images.get(reference)
                    base = client.images.get(settings.SKILLINSTALL_DOCKER_BASE_IMAGE)
                except (DockerException, requests.RequestException) as exc:
                    self._clean_failed_run(client, dependency_hash, run_id)
                    raise BuildError(
                        f"The Docker engine failed while building {reference}: {exc}"
                    ) from exc
                except BaseException:
                    # Also when the caller's log or a signal stops the build:
                    # what the run made so far goes, as after any failure.
                    self._clean_failed_run(client, dependency_hash, run_id)
                    raise
                # The first stage's images hold the wheels; only the result stays.
                self._remove_run_images(client, run_id, keep_complete=True)
        finally:
            shutil.rmtree(context, ignore_errors=True)

        logger.info("docker build finished hash=%s run=%s", dependency_hash, run_id)
        # What the environment adds on top of the shared base image.
        size = max(image.attrs.get("Size", 0) - base.attrs.get("Size", 0), 0)
        return BuildResult(reference=reference, size_bytes=size)

    def remove(self, reference):
        with closing(self._client()) as client:
            try:
                client.images.remove(reference, force=True)
            except ImageNotFound:
                pass

    def remove_partial(self, dependency_hash, run_id):
        shutil.rmtree(self._context_dir(dependency_hash, run_id), ignore_errors=True)
        try:
            client = self._client()
        except BackendUnavailableError as exc:
            # Nothing on the engine can be cleaned now; the run's images keep
            # their label, so a later call still finds them.
            logger.warning(
                "docker cleanup skipped hash=%s run=%s: %s",
                dependency_hash,
                run_id,
                exc.message,
            )
            return
        with closing(client):
            self._remove_run_images(client, run_id, keep_complete=True)

    # --- engine -------------------------------------------------------------

    def _client(self, timeout=ENGINE_TIMEOUT):
        url = engine_url()
        # Said plainly, rather than as the client library's connection error.
        if url.startswith("unix://") and not os.path.exists(url[len("unix://") :]):
            raise self._unreachable(f"{url[len('unix://') :]} does not exist")
        try:
            if settings.SKILLINSTALL_DOCKER_URL:
                client = docker.DockerClient(
                    base_url=settings.SKILLINSTALL_DOCKER_URL, timeout=timeout
                )
            else:
                client = docker.from_env(timeout=timeout)
            client.ping()
        except (DockerException, requests.RequestException) as exc:
            raise self._unreachable(exc) from exc
        return client

    def _unreachable(self, reason):
        return BackendUnavailableError(
            f"The Docker engine at {engine_url()} is not reachable: "
            f"{str(reason).rstrip('.')}."
        )

    def _clean_failed_run(self, client, dependency_hash, run_id):
        try:
            self._remove_run_images(client, run_id, keep_complete=False)
        except (DockerException, requests.RequestException) as exc:
            # The build's own error is the one to report; what is left keeps
            # its run label for remove_partial.
            logger.warning(
                "docker cleanup failed hash=%s run=%s: %s", dependency_hash, run_id, exc
            )

    def _remove_run_images(self, client, run_id, *, keep_complete):
        label = f"{RUN_LABEL}={run_id}"
        for container in client.containers.list(all=True, filters={"label": label}):
            # Containers inherit image labels; one of a complete image is a
            # user of the environment, not a leftover of its build.
            if keep_complete and COMPLETE_LABEL in container.labels:
                continue
            try:
                container.remove(force=True)
            except NotFound:
                pass

        images = client.images.list(all=True, filters={"label": label})
        # Children first: removing one also removes its untagged parents.
        images.sort(key=lambda image: image.attrs.get("Created", 0), reverse=True)
        for image in images:
            if keep_complete and COMPLETE_LABEL in image.labels:
                continue
            try:
                client.images.remove(image.id, force=True)
            except NotFound:
                pass
            except APIError as exc:
                # An image that a kept image is built on cannot go; it is
                # part of that image, not left over.
                logger.debug("docker image kept image=%s: %s", image.id, exc)

    # --- build context ------------------------------------------------------

    def _context_dir(self, dependency_hash, run_id):
        return settings.SKILLINSTALL_WORK_ROOT / f"{dependency_hash}.docker-{run_id}"

    def _prepare_context(
        self, context, *, dependency_hash, python_lock, npm_lock, run_id, log
    ):
        checks = context / "checks"
        checks.mkdir()
        (checks / "python_imports.py").write_text(PYTHON_CHECK)
        (checks / "node_modules.js").write_text(NODE_CHECK)

        if python_lock.strip():
            python = context / "python"
            (python / "wheels").mkdir(parents=True)
            (python / "requirements.txt").write_text(python_lock)
            log("Downloading the locked wheels on the host.")
            self._run(
                self._pip_download_command(python),
                cwd=python,
                env=_pip_environment(),
                log=log,
                step="downloading the locked wheels",
            )

        if npm_lock.strip():
            self._install_npm(context / "node", npm_lock, log)

        (context / "Dockerfile").write_text(
            _dockerfile(
                base=settings.SKILLINSTALL_DOCKER_BASE_IMAGE,
                dependency_hash=dependency_hash,
                run_id=run_id,
                python=bool(python_lock.strip()),
                node=bool(npm_lock.strip()),
            )
        )

    def _install_npm(self, node, npm_lock, log):
        npm = resolver.npm_binary()
        if not npm:
            raise BuildError(
                "The docker backend installs npm locks with npm on the host, "
                "and npm is not on PATH."
            )
        node.mkdir()
        (node / "package-lock.json").write_text(npm_lock)
        (node / "package.json").write_text(json.dumps(_manifest_for(npm_lock)))

        log("Installing the npm lock on the host.")
        # The registry and options the resolver used, outside the context so
        # that nothing of the machine's npm setup is sent to the engine.
        with resolver.scratch_directory("npmrc") as scratch:
            userconfig = resolver.write_npm_userconfig(
                scratch / "npmrc", resolver.npm_registry()
            )
            self._run(
                [npm, "ci", "--ignore-scripts", "--userconfig", str(userconfig)],
                cwd=node,
                env=resolver.npm_environment(),
                log=log,
                step="installing the npm lock",
            )

    def _pip_download_command(self, python):
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            "--no-deps",
            "--require-hashes",
            "--only-binary=:all:",
            "--python-version",
            settings.SKILLINSTALL_TARGET_PYTHON,
            "--dest",
            str(python / "wheels"),
            "--requirement",
            str(python / "requirements.txt"),
        ]
        # The sources the resolver used, so the files it pinned are found.
        if settings.SKILLINSTALL_NO_INDEX:
            command.append("--no-index")
        elif settings.SKILLINSTALL_INDEX_URL:
            command += ["--index-url", settings.SKILLINSTALL_INDEX_URL]
        for link in settings.SKILLINSTALL_FIND_LINKS:
            command += ["--find-links", link]
        return command

    def _run(self, command, *, cwd, env, log, step):
        tail = deque(maxlen=TAIL_LINES)
        timed_out = threading.Event()
        with subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process:

            def kill():
                timed_out.set()
                process.kill()

            timer = threading.Timer(STEP_TIMEOUT, kill)
            timer.start()
            try:
                for line in process.stdout:
                    line = line.rstrip()
                    if line:
                        log(line)
                        tail.append(line)
                returncode = process.wait()
            finally:
                timer.cancel()

        if timed_out.is_set():
            raise BuildError(
                f"The Docker build stopped while {step}: it took over "
                f"{STEP_TIMEOUT} seconds.",
                details={"log_tail": list(tail)},
            )
        if returncode:
            raise _failed(step, tail)

    # --- image --------------------------------------------------------------

    def _build_image(self, client, context, reference, dependency_hash, run_id, log):
        log(f"Building {reference} with no network.")
        tail = deque(maxlen=TAIL_LINES)
        error = None
        stream = client.api.build(
            path=str(context),
            tag=reference,
            rm=True,
            forcerm=True,
            pull=False,
            network_mode="none",
            decode=True,
            use_config_proxy=False,
        )
        log_error = None
        try:
            for chunk in stream:
                text = chunk.get("stream") or chunk.get("status") or ""
                if "error" in chunk:
                    error = chunk["error"]
                    text = error
                for line in ANSI_ESCAPE.sub("", text).splitlines():
                    line = line.rstrip()
                    if not line:
                        continue
                    # A log that fails ends the run, but only once the engine
                    # is done: cleaning up while it still builds would miss
                    # the images it commits afterwards.
                    if log_error is None:
                        try:
                            log(line)
                        except Exception as exc:  # noqa: BLE001 (any error of log)
                            log_error = exc
                    # The error report needs the failing step, not the steps
                    # before it, nor the engine's bookkeeping lines.
                    if line.startswith("Step "):
                        tail.clear()
                    if not line.startswith((" ---> ", "Removing intermediate")):
                        tail.append(line)
        finally:
            # Dropping the stream hangs up on the engine, which then cancels
            # a build that nobody follows any more.
            stream.close()
        if log_error is not None:
            raise log_error
        if error is not None:
            raise _failed("building the image", tail)

        image = client.images.get(reference)
        if image.labels.get(COMPLETE_LABEL) != dependency_hash:
            raise BuildError(
                f"The Docker build of {reference} ended without the "
                f"{COMPLETE_LABEL} label of run {run_id}."
            )


def _pip_environment():
    """Return the environment pip downloads in: only the settings pick sources."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in PIP_PASSTHROUGH or not key.startswith("PIP_")
    }
    # pip's configuration files may add indexes and links of their own; uv,
    # which made the lock, never read them.
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def _failed(step, tail):
    lines = "\n".join(tail)
    return BuildError(
        f"The Docker build failed while {step}; the last lines of its log:\n{lines}",
        details={"log_tail": list(tail)},
    )


def _manifest_for(npm_lock):
    """Return a package.json that agrees with ``npm_lock``, as npm ci requires."""
    try:
        lock = json.loads(npm_lock)
    except ValueError as exc:
        raise BuildError(f"The npm lock is not valid JSON: {exc}") from exc

    version = lock.get("lockfileVersion") if isinstance(lock, dict) else None
    root = lock.get("packages", {}).get("") if isinstance(lock, dict) else None
    if not isinstance(root, dict):
        raise BuildError(
            f"The npm lock has lockfileVersion {version!r} and no root package; "
            "the docker backend needs version 2 or 3, as npm 7 and later write."
        )
    # The lock's root entry is the package.json it was made from.
    manifest = dict(root)
    manifest.setdefault("name", lock.get("name") or "skill-environment")
    manifest.setdefault("version", lock.get("version") or "0.0.0")
    manifest["private"] = True
    return manifest


def _dockerfile(*, base, dependency_hash, run_id, python, node):
    run = json.dumps(str(run_id))
    build_steps = [PYTHON_STEPS] if python else []
    build_steps += [NODE_STEPS] if node else []
    return DOCKERFILE.format(
        base=base,
        run_label=f"{RUN_LABEL}={run}",
        complete_label=f"{COMPLETE_LABEL}={json.dumps(dependency_hash)}",
        build_steps="".join(build_steps),
    )
