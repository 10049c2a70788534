"""Full transitive resolution: uv for Python, npm for Node."""

import logging
import shutil

logger = logging.getLogger(__name__)


def uv_binary():
    """Return the path of the uv executable, or None when there is none."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")
