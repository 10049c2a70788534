"""Skill manifests: JSON documents that declare one or more skills.

A manifest is one skill object, a list of them, or ``{"skills": [...]}``.
Parsing is all or nothing: every rejected entry is reported, none is kept.
"""

import json
import re
from dataclasses import dataclass, field

from django.conf import settings

from installs.exceptions import InvalidManifestError, InvalidSpecError
from installs.requirements import npm, python

SKILL_ID_MAX_LENGTH = 214
_SKILL_ID_PART = r"[a-z0-9][a-z0-9._-]*"
_SKILL_ID = re.compile(rf"{_SKILL_ID_PART}(?:/{_SKILL_ID_PART})?")
_TEXT_FIELDS = {"name": 200, "version": 100}


@dataclass(frozen=True)
class SkillManifest:
    """One skill as declared, with its specs parsed and validated."""

    id: str
    name: str
    version: str
    python_requirements: list = field(default_factory=list)
    npm_dependencies: object = field(default_factory=dict)
    source: str = ""
    python: tuple = ()
    npm: tuple = ()

    @classmethod
    def build(cls, *, id, python_requirements, npm_dependencies, **fields):
        """Return a manifest with its specs parsed; raise InvalidSpecError."""
        return cls(
            id=id,
            python_requirements=python_requirements,
            npm_dependencies=npm_dependencies,
            python=tuple(python.parse_requirements(python_requirements, source=id)),
            npm=tuple(npm.parse_dependencies(npm_dependencies, source=id)),
            **fields,
        )


def validate_skill_id(value):
    """Return ``value`` if it is a valid skill id, else raise."""
    if not isinstance(value, str) or not value:
        raise InvalidManifestError(
            f"Skill id {value!r} is not valid: it must be a non-empty string."
        )
    if len(value) > SKILL_ID_MAX_LENGTH:
        raise InvalidManifestError(
            f"Skill id {value[:40]!r}... is not valid: it is longer than "
            f"{SKILL_ID_MAX_LENGTH} characters."
        )
    if ".." in value or not _SKILL_ID.fullmatch(value):
        raise InvalidManifestError(
            f"Skill id {value!r} is not valid: use 'name' or 'owner/name' with "
            "lowercase letters, digits, '.', '_' and '-' (no '..')."
        )
    return value


def parse_skill(obj, *, source=""):
    """Validate one skill object and return its SkillManifest."""
    if not isinstance(obj, dict):
        raise InvalidManifestError(
            f"A skill entry must be a JSON object, not {type(obj).__name__}."
        )
    skill_id = validate_skill_id(obj.get("id"))

    values = {}
    for key, max_length in _TEXT_FIELDS.items():
        value = obj.get(key, skill_id if key == "name" else "")
        if not isinstance(value, str) or len(value) > max_length:
            raise InvalidManifestError(
                f"Skill '{skill_id}': '{key}' must be a string of at most "
                f"{max_length} characters."
            )
        values[key] = value

    python_requirements = obj.get("python", [])
    npm_dependencies = obj.get("npm", {})
    if python_requirements is None:
        python_requirements = []
    if npm_dependencies is None:
        npm_dependencies = {}
    try:
        return SkillManifest.build(
            id=skill_id,
            name=values["name"],
            version=values["version"],
            python_requirements=python_requirements,
            npm_dependencies=npm_dependencies,
            source=source,
        )
    except InvalidSpecError as exc:
        raise InvalidManifestError(exc.message) from exc


def load_manifest(data, *, source=""):
    """Parse manifest bytes or text into SkillManifests, all or nothing.

    Raise InvalidManifestError listing every rejected entry in
    ``details["errors"]`` as ``{"skill": id or None, "error": message}``.
    """
    if isinstance(data, str):
        data = data.encode()
    limit = settings.SKILLINSTALL_MAX_MANIFEST_BYTES
    if len(data) > limit:
        raise InvalidManifestError(
            f"Manifest {source or '(request)'} is {len(data)} bytes, over the "
            f"limit of {limit} bytes."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidManifestError(
            f"Manifest {source or '(request)'} is not UTF-8 text: byte "
            f"{exc.start} cannot be decoded."
        ) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidManifestError(
            f"Manifest {source or '(request)'} is not valid JSON: {exc}."
        ) from exc
    return parse_manifest(document, source=source)


def parse_manifest(document, *, source=""):
    """Parse a decoded manifest document into SkillManifests, all or nothing."""
    if isinstance(document, dict) and "skills" in document:
        entries = document["skills"]
        if not isinstance(entries, list):
            raise InvalidManifestError(
                f"Manifest {source or '(request)'}: 'skills' must be a list."
            )
    elif isinstance(document, dict):
        entries = [document]
    elif isinstance(document, list):
        entries = document
    else:
        raise InvalidManifestError(
            f"Manifest {source or '(request)'} must be a skill object, a list "
            'of them, or {"skills": [...]}.'
        )
    if not entries:
        raise InvalidManifestError(
            f"Manifest {source or '(request)'} declares no skill."
        )

    skills, errors, seen = [], [], set()
    for entry in entries:
        skill_id = entry.get("id") if isinstance(entry, dict) else None
        try:
            skill = parse_skill(entry, source=source)
        except InvalidManifestError as exc:
            errors.append({"skill": skill_id, "error": exc.message})
            continue
        if skill.id in seen:
            errors.append(
                {"skill": skill.id, "error": f"Skill '{skill.id}' is declared twice."}
            )
            continue
        seen.add(skill.id)
        skills.append(skill)

    if errors:
        lines = "\n".join(f"  - {error['error']}" for error in errors)
        raise InvalidManifestError(
            f"Manifest {source or '(request)'} was rejected, nothing was "
            f"imported; {len(errors)} entr{'y' if len(errors) == 1 else 'ies'} "
            f"failed:\n{lines}",
            details={"errors": errors},
        )
    return skills
