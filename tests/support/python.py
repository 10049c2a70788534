"""Real Python distributions made in a test, and a PEP 503 index over them.

Wheels and sdists are written byte for byte (zip, tar, RECORD hashes), with
fixed timestamps so that building the same package twice gives the same file.
"""

import base64
import gzip
import hashlib
import html
import io
import re
import tarfile
import zipfile
from pathlib import Path

# Zip and tar entries carry this date so that rebuilt files hash the same.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def canonical_name(name):
    """Return the PEP 503 normalised form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def import_name(name):
    """Return the module name a test package of ``name`` is imported as."""
    return canonical_name(name).replace("-", "_")


def _metadata(name, version, requires):
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    return "\n".join(lines) + "\n"


def _record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def wheel_filename(name, version):
    """Return the file name of the pure-Python wheel of ``name`` ``version``."""
    return f"{import_name(name)}-{version}-py3-none-any.whl"


def build_wheel(directory, name, version, *, requires=(), modules=None):
    """Write a pure-Python wheel into ``directory`` and return its path.

    ``modules`` maps paths inside the wheel to source text; by default the
    wheel holds one package named after the project, which imports cleanly.
    """
    module = import_name(name)
    if modules is None:
        modules = {f"{module}/__init__.py": f'__version__ = "{version}"\n'}
    dist_info = f"{module}-{version}.dist-info"
    files = {path: source.encode() for path, source in modules.items()}
    files[f"{dist_info}/METADATA"] = _metadata(name, version, requires).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\n"
        b"Generator: skillinstall-tests\n"
        b"Root-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    record = [
        f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()
    ]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()

    path = Path(directory) / wheel_filename(name, version)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            info = zipfile.ZipInfo(member, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


# A PEP 517 backend that ships inside the sdist (``backend-path``), so that
# building needs nothing from an index: it hands over the wheel stored next
# to it, which is enough to prove that the build code was allowed to run.
_INLINE_BACKEND = """\
import os
import shutil

_HERE = os.path.dirname(os.path.abspath(__file__))


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    (name,) = os.listdir(os.path.join(_HERE, "prebuilt"))
    shutil.copy(os.path.join(_HERE, "prebuilt", name), wheel_directory)
    return name
"""

_PYPROJECT = """\
[build-system]
requires = []
build-backend = "inline_backend"
backend-path = ["."]
"""


def build_sdist(directory, name, version, *, requires=(), modules=None):
    """Write a source distribution into ``directory`` and return its path.

    Its build backend lives in the archive itself, so that it builds offline.
    """
    base = f"{import_name(name)}-{version}"
    wheel = build_wheel(
        Path(directory), name, version, requires=requires, modules=modules
    )
    wheel_bytes = wheel.read_bytes()
    wheel.unlink()
    files = {
        f"{base}/PKG-INFO": _metadata(name, version, requires).encode(),
        f"{base}/pyproject.toml": _PYPROJECT.encode(),
        f"{base}/inline_backend.py": _INLINE_BACKEND.encode(),
        f"{base}/prebuilt/{wheel.name}": wheel_bytes,
    }

    path = Path(directory) / f"{base}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


def _project_of(filename):
    if filename.endswith(".whl"):
        return canonical_name(filename.split("-", 1)[0])
    return canonical_name(filename.removesuffix(".tar.gz").rsplit("-", 1)[0])


class PythonIndex:
    """A directory of distributions: a find-links dir and a PEP 503 index.

    ``url`` is set once the index is mounted on a loopback server; it is the
    simple index root, as uv's ``--default-index`` wants it.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.url = ""

    def add(self, name, version, *, requires=(), modules=None, sdist=False):
        """Publish a wheel (or an sdist) of ``name`` ``version``; return its path."""
        build = build_sdist if sdist else build_wheel
        return build(self.directory, name, version, requires=requires, modules=modules)

    def respond(self, path):
        """Answer a GET below the mount point: (content type, body) or None."""
        if path in ("simple", "simple/"):
            projects = sorted({_project_of(f.name) for f in self._files()})
            links = [f'<a href="{p}/">{p}</a>' for p in projects]
            return "text/html", self._page(links)

        if path.startswith("simple/"):
            project = canonical_name(path.removeprefix("simple/").strip("/"))
            files = [f for f in self._files() if _project_of(f.name) == project]
            if not files:
                return None
            return "text/html", self._page(self._link(f) for f in files)

        if path.startswith("files/"):
            target = self.directory / path.removeprefix("files/")
            if target.parent != self.directory or not target.is_file():
                return None
            return "application/octet-stream", target.read_bytes()

        return None

    def _files(self):
        return sorted(
            f for f in self.directory.iterdir() if f.name.endswith((".whl", ".tar.gz"))
        )

    def _link(self, file):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        name = html.escape(file.name)
        return f'<a href="../../files/{name}#sha256={digest}">{name}</a>'

    def _page(self, links):
        body = "\n".join(links)
        return f"<!DOCTYPE html>\n<html><body>\n{body}\n</body></html>\n".encode()
