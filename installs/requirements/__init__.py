"""Parsing and validation of what skills declare: Python and npm specs."""

import re

_SKILL_ID = re.compile(r"[a-z0-9._-]+(?:/[a-z0-9._-]+)?")


def source_label(source):
    """Return how an error names where a spec came from: a skill or a file."""
    if _SKILL_ID.fullmatch(source):
        return f"Skill {source!r}"
    return source[:1].upper() + source[1:]
