"""npm packages made in a test, and a registry that serves their packuments.

The registry answers the two requests npm makes while locking and installing:
``GET /<name>`` (``/@scope%2fname`` for scoped names) for the packument, and
``GET /<name>/-/<base>-<version>.tgz`` for the tarball.
"""

import base64
import gzip
import hashlib
import io
import json
import tarfile
from urllib.parse import unquote


def build_tarball(name, version, *, dependencies=None):
    """Return the bytes of a package tarball, as ``npm pack`` lays it out."""
    manifest = {"name": name, "version": version, "main": "index.js"}
    if dependencies:
        manifest["dependencies"] = dict(dependencies)
    files = {
        "package/package.json": json.dumps(manifest, indent=2).encode(),
        "package/index.js": f"module.exports = {json.dumps(name)};\n".encode(),
    }

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def integrity_of(data):
    """Return the Subresource Integrity string npm records for ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _release_key(version):
    core = version.split("-", 1)[0].split("+", 1)[0]
    return tuple(int(part) for part in core.split("."))


class NpmRegistry:
    """Packages published in memory, served once mounted on a loopback server."""

    def __init__(self):
        self.url = ""
        self._packages = {}

    def publish(self, name, version, dependencies=None):
        """Publish ``name`` ``version`` with ``dependencies`` (name -> range)."""
        tarball = build_tarball(name, version, dependencies=dependencies)
        self._packages.setdefault(name, {})[version] = (dependencies or {}, tarball)
        return integrity_of(tarball)

    def tarball_url(self, name, version):
        """Return where the tarball of ``name`` ``version`` is served."""
        return f"{self.url}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"

    def respond(self, path):
        """Answer a GET below the mount point: (content type, body) or None."""
        path = unquote(path)
        if "/-/" in path:
            name, _, filename = path.partition("/-/")
            for version, (_, tarball) in self._packages.get(name, {}).items():
                if self.tarball_url(name, version).endswith(f"/-/{filename}"):
                    return "application/octet-stream", tarball
            return None

        if path not in self._packages:
            return None
        return "application/json", json.dumps(self.packument(path)).encode()

    def packument(self, name):
        """Return the registry document of ``name`` with every version."""
        releases = self._packages[name]
        versions = {}
        for version, (dependencies, tarball) in releases.items():
            versions[version] = {
                "name": name,
                "version": version,
                "dependencies": dependencies,
                "dist": {
                    "tarball": self.tarball_url(name, version),
                    "shasum": hashlib.sha1(tarball).hexdigest(),
                    "integrity": integrity_of(tarball),
                },
            }
        latest = max(
            (v for v in releases if "-" not in v), key=_release_key, default=None
        )
        return {
            "name": name,
            "dist-tags": {"latest": latest} if latest else {},
            "versions": versions,
        }
