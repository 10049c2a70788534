"""Shared test setup: every test gets its own artifact and work roots."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_roots(settings, tmp_path):
    settings.SKILLINSTALL_ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.SKILLINSTALL_WORK_ROOT = tmp_path / "work"
    settings.SKILLINSTALL_ARTIFACT_ROOT.mkdir()
    settings.SKILLINSTALL_WORK_ROOT.mkdir()


# --- local package indexes ---------------------------------------------------

import sys

from tests.support.http import LoopbackServer
from tests.support.npm import NpmRegistry
from tests.support.python import PythonIndex


@pytest.fixture(scope="session")
def loopback_server():
    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture
def python_index(settings, loopback_server, tmp_path):
    """Wheels made in the test, used as a find-links directory with no index."""
    index = PythonIndex(tmp_path / "python-index")
    index.url = loopback_server.mount(index) + "/simple/"
    settings.SKILLINSTALL_NO_INDEX = True
    settings.SKILLINSTALL_FIND_LINKS = [str(index.directory)]
    settings.SKILLINSTALL_INDEX_URL = ""
    settings.SKILLINSTALL_ALLOW_SDISTS = []
    settings.SKILLINSTALL_TARGET_PYTHON = "{}.{}".format(*sys.version_info[:2])
    settings.SKILLINSTALL_TARGET_PLATFORM = "linux"
    yield index
    loopback_server.unmount(index.url.removesuffix("/simple/"))


@pytest.fixture
def simple_python_index(settings, python_index):
    """The same packages, served as a PEP 503 simple index on 127.0.0.1."""
    settings.SKILLINSTALL_NO_INDEX = False
    settings.SKILLINSTALL_FIND_LINKS = []
    settings.SKILLINSTALL_INDEX_URL = python_index.url
    return python_index


@pytest.fixture
def npm_registry(settings, loopback_server):
    """An npm registry on 127.0.0.1 that the test publishes into."""
    registry = NpmRegistry()
    registry.url = loopback_server.mount(registry)
    settings.SKILLINSTALL_NPM_REGISTRY = registry.url + "/"
    yield registry
    loopback_server.unmount(registry.url)
