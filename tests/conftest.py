"""Shared test setup: every test gets its own artifact and work roots."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_roots(settings, tmp_path):
    settings.SKILLINSTALL_ARTIFACT_ROOT = tmp_path / "artifacts"
    settings.SKILLINSTALL_WORK_ROOT = tmp_path / "work"
    settings.SKILLINSTALL_ARTIFACT_ROOT.mkdir()
    settings.SKILLINSTALL_WORK_ROOT.mkdir()
