"""Python requirements of skills: parsing, validation, target markers and clashes.

Owns the PEP 508 entries a skill declares, the platform constraints file, and
the exact decision whether specifier sets on one package can hold together.
"""

import functools
import re
from dataclasses import dataclass

from django.conf import settings
from packaging.markers import (
    InvalidMarker,
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
)
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from installs.exceptions import InvalidSpecError
from installs.requirements import source_label

__all__ = [
    "PythonRequirement",
    "applies",
    "find_clash",
    "is_satisfiable",
    "parse_constraints",
    "parse_requirement",
    "parse_requirements",
    "target_environment",
]


@dataclass(frozen=True)
class PythonRequirement:
    """One accepted PEP 508 requirement and where it came from."""

    name: str
    text: str
    specifier: SpecifierSet
    extras: frozenset[str]
    marker: Marker | None
    source: str


# Skill ids as marketplaces name them; any other source is a free-form label
# such as "platform constraints".

# Entries are written into requirements files and handed to uv, where a line
# break starts a new line, " #" a comment and "${VAR}" an expansion. None of
# these has a place in a PEP 508 string, marker values included.
_SHELL_METACHARACTERS = "|&$`\\"
_ARCHIVE_SUFFIXES = (
    ".whl",
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".egg",
)
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_DIRECT_REFERENCE = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@")
_HEAD = re.compile(r"[^\s\[;<>=!~(@]*")
_CLAUSE = re.compile(r"\s*([<>=!~]+)\s*(.*?)\s*", re.DOTALL)
_OPERATORS = frozenset({"===", "~=", "==", "!=", "<=", ">=", "<", ">"})
_COMMENT = re.compile(r"(?:^|\s)#.*$")
_SHOWN_LENGTH = 60


def _shown(entry):
    if not isinstance(entry, str):
        text = repr(entry)
        return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 3] + "..."

    text = entry.strip() or entry
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 3] + "..."
    return repr(text)


def _invalid(entry, reason, *, source, line=None):
    where = "" if line is None else f" on line {line}"
    message = (
        f"{source_label(source)}: invalid Python requirement "
        f"{_shown(entry)}{where}: {reason}."
    )
    details = {"source": source, "entry": entry, "reason": reason}
    if line is not None:
        details["line"] = line
    return InvalidSpecError(message, details=details)


def _clause_reason(clause):
    match = _CLAUSE.fullmatch(clause)
    if match is None:
        return f"invalid version specifier {clause.strip()!r}"

    operator, version = match.groups()
    if operator not in _OPERATORS:
        return f"invalid operator {operator!r}"
    if not version:
        return f"missing version after {operator!r}"
    if operator == "===":
        return f"invalid version specifier {clause.strip()!r}"

    try:
        parsed = Version(version.removesuffix(".*"))
    except InvalidVersion:
        return f"invalid version {version!r}"

    if version.endswith(".*"):
        return f"wildcard {version!r} needs '==' or '!=' and a plain release"
    if parsed.local is not None:
        return f"local version {version!r} needs '==' or '!='"
    if operator == "~=" and len(parsed.release) < 2:
        return f"'~=' needs at least two release segments, got {version!r}"
    return f"invalid version specifier {clause.strip()!r}"


def _specifier_reason(rest):
    # The part after the name and extras, optionally in parentheses.
    if rest.startswith("("):
        if not rest.endswith(")"):
            return "unbalanced parenthesis"
        rest = rest[1:-1]

    for clause in rest.split(","):
        if not clause.strip():
            continue
        try:
            Specifier(clause)
        except InvalidSpecifier:
            return _clause_reason(clause)
    return None


def _failure_reason(text):
    """Say in a few words why packaging refused a requirement."""
    head, semicolon, marker = text.partition(";")

    # "name --hash=..." or "name -e": an option after the name.
    if re.search(r"(?:^|\s)-", head):
        return "pip options are not allowed"

    name = _NAME.match(head)
    if name is None:
        return "invalid project name"

    rest = head[name.end() :]
    if rest and not rest[0].isspace() and rest[0] not in "[(<>=!~":
        return "invalid project name"

    rest = rest.strip()
    if rest.startswith("["):
        close = rest.find("]")
        extras = rest[1:close].split(",") if close != -1 else []
        if close == -1 or not all(_NAME.fullmatch(e.strip()) for e in extras):
            return "invalid extras"
        rest = rest[close + 1 :].strip()

    if rest and rest[0] not in "(<>=!~":
        return f"unexpected {rest.split()[0]!r} after the project name"
    if rest:
        reason = _specifier_reason(rest)
        if reason is not None:
            return reason

    if semicolon:
        if not marker.strip():
            return "missing environment marker after ';'"
        return f"invalid environment marker {marker.strip()!r}"
    return "not a valid PEP 508 requirement"


def _rejection(text):
    """Return why a stripped, non-empty entry is refused before parsing, if it is."""
    if "\n" in text or "\r" in text:
        return "line breaks are not allowed"
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        return "control characters are not allowed"
    if text.startswith("-"):
        return "pip options are not allowed"
    if _DIRECT_REFERENCE.match(text):
        return "direct references ('name @ ...') are not allowed"
    if "://" in text:
        return "URLs are not allowed"

    head = _HEAD.match(text).group()
    if text.startswith((".", "~", "/")) or "/" in head or "\\" in head:
        return "local paths are not allowed"
    if head.lower().endswith(_ARCHIVE_SUFFIXES):
        return "archive files are not allowed"

    for char in _SHELL_METACHARACTERS:
        if char in text:
            return f"shell metacharacter {char!r} is not allowed"
    if "#" in text:
        return "'#' is not allowed in a requirement"
    return None


class _Refused(Exception):
    """Why a requirement text is refused, before its source is known."""


# Skills of one marketplace repeat the same entries thousands of times; the
# checks and packaging's parser depend only on the text, so each distinct
# text is parsed once.
@functools.lru_cache(maxsize=65536)
def _checked(text, constraint):
    reason = _rejection(text)
    if reason is not None:
        raise _Refused(reason)

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        raise _Refused(_failure_reason(text)) from None

    # packaging lets a name end in '_'; PEP 508 does not.
    if not _NAME.fullmatch(requirement.name):
        raise _Refused("invalid project name")
    # The shape checks above catch every direct reference packaging accepts;
    # this one keeps that true if packaging widens its grammar.
    if requirement.url:
        raise _Refused("direct references ('name @ ...') are not allowed")
    # pip refuses extras in constraints; accepting them would promise an effect
    # the resolver never gives.
    if constraint and requirement.extras:
        raise _Refused("constraints cannot have extras")

    return (
        canonicalize_name(requirement.name),
        requirement.specifier,
        frozenset(canonicalize_name(extra) for extra in requirement.extras),
        requirement.marker,
    )


def _parse(entry, *, source, limit, line=None, constraint=False):
    if not isinstance(entry, str):
        reason = f"expected a string, got {type(entry).__name__}"
        raise _invalid(entry, reason, source=source, line=line)
    if len(entry) > limit:
        reason = f"longer than {limit} characters"
        raise _invalid(entry, reason, source=source, line=line)

    text = entry.strip()
    if not text:
        raise _invalid(entry, "empty requirement", source=source, line=line)

    try:
        name, specifier, extras, marker = _checked(text, constraint)
    except _Refused as refused:
        raise _invalid(entry, str(refused), source=source, line=line) from None

    return PythonRequirement(
        name=name,
        text=text,
        specifier=specifier,
        extras=extras,
        marker=marker,
        source=source,
    )


def parse_requirement(text, *, source):
    """Parse one PEP 508 requirement declared by ``source``, or raise."""
    return _parse(text, source=source, limit=settings.SKILLINSTALL_MAX_SPEC_LENGTH)


def parse_requirements(entries, *, source):
    """Parse the list of requirements declared by ``source``; report the first bad."""
    if not isinstance(entries, list | tuple):
        raise InvalidSpecError(
            f"{source_label(source)}: Python requirements must be a list of "
            f"strings, got {type(entries).__name__}.",
            details={"source": source},
        )

    most = settings.SKILLINSTALL_MAX_DEPENDENCIES
    if len(entries) > most:
        raise InvalidSpecError(
            f"{source_label(source)}: too many Python requirements "
            f"({len(entries)}); at most {most} are allowed.",
            details={"source": source, "count": len(entries), "limit": most},
        )

    limit = settings.SKILLINSTALL_MAX_SPEC_LENGTH
    return [_parse(entry, source=source, limit=limit) for entry in entries]


def parse_constraints(text, *, source):
    """Parse the body of a pip-style constraints file; options are refused."""
    if not isinstance(text, str):
        raise InvalidSpecError(
            f"{source_label(source)}: constraints must be text, "
            f"got {type(text).__name__}.",
            details={"source": source},
        )

    limit = settings.SKILLINSTALL_MAX_SPEC_LENGTH
    constraints = []
    for number, line in enumerate(text.splitlines(), start=1):
        # pip's rule: '#' starts a comment at the start of a line or after
        # whitespace; elsewhere it stays and is refused as part of the entry.
        line = _COMMENT.sub("", line)
        if not line.strip():
            continue
        constraints.append(
            _parse(line, source=source, limit=limit, line=number, constraint=True)
        )
    return constraints


# The marker values of each target platform. The machine names are what uv
# assumes for these platforms when it resolves for them.
_PLATFORMS = {
    "linux": {
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
    },
    "macos": {
        "os_name": "posix",
        "sys_platform": "darwin",
        "platform_system": "Darwin",
        "platform_machine": "arm64",
    },
    "windows": {
        "os_name": "nt",
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": "AMD64",
    },
}
_PLATFORM_ALIASES = {"darwin": "macos", "win32": "windows"}
_PYTHON_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def target_environment(*, python_version=None, platform=None):
    """Return the marker environment of the environments being built."""
    python_version = python_version or settings.SKILLINSTALL_TARGET_PYTHON
    platform = platform or settings.SKILLINSTALL_TARGET_PLATFORM

    match = _PYTHON_VERSION.fullmatch(str(python_version).strip())
    if match is None:
        raise ValueError(
            f"Unknown target Python {python_version!r}: "
            "use a version such as '3.11' or '3.11.4'."
        )
    key = str(platform).strip().lower()
    key = _PLATFORM_ALIASES.get(key, key)
    if key not in _PLATFORMS:
        raise ValueError(
            f"Unknown target platform {platform!r}: "
            "choose one of linux, macos, windows."
        )

    major, minor, micro = match.groups()
    full_version = f"{major}.{minor}.{micro or 0}"
    return {
        **_PLATFORMS[key],
        "python_version": f"{major}.{minor}",
        "python_full_version": full_version,
        "implementation_name": "cpython",
        "implementation_version": full_version,
        "platform_python_implementation": "CPython",
        # The kernel of the build machine is unknown when the target is named
        # only by platform; markers on these are rare and compare as unknown.
        "platform_release": "",
        "platform_version": "",
    }


def applies(requirement, environment):
    """Return whether the requirement's marker holds for the target environment."""
    if requirement.marker is None:
        return True

    try:
        return requirement.marker.evaluate({**environment, "extra": ""})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        reason = str(exc).splitlines()[0].rstrip(".")
        raise InvalidSpecError(
            f"{source_label(requirement.source)}: cannot evaluate the marker of "
            f"Python requirement {_shown(requirement.text)} for the target: "
            f"{reason}.",
            details={"source": requirement.source, "entry": requirement.text},
        ) from None


# Notes on the clash decision
#
# A version satisfies specifier sets when packaging's own
# SpecifierSet.contains(version, prereleases=True) accepts it for each set,
# so a witness is only ever confirmed by packaging, never by reasoning here.
# The reasoning only chooses which few versions to try.
#
# Each specifier other than '===' accepts a union of at most two intervals of
# the PEP 440 order. Their lower ends are: nothing ('<', '<=', the lower part
# of '!='); V itself ('>=V', '==V', '==V+l', '~=V'); V.dev0 of the prefix
# ('==V.*'); the next prefix's .dev0 ('!=V.*'); just above V and its locals
# ('!=V'); just above V+l ('!=V+l'); and just above V and all its
# post-releases ('>V'). Upper ends never need a candidate. An intersection
# of such unions is a union of intervals each starting at one of these lower
# ends, so if any version satisfies every set, the interval holding it
# starts at one of those ends L and the candidate made for L lies in it:
#
# - no lower end: 0.dev0, the smallest version there is;
# - an included V: V, the least member of an interval starting there;
# - just above V and its locals, or above '>V' for V a dev, post or pre
#   release: the successor, which exists (V.devN+1, V.postN+1.dev0,
#   V.post0.dev0, V.aN+1.dev0) and is the least member;
# - just above every post-release of a final V: there is no least version
#   (1.0.0.1 > 1.0.0.0.1 > ...), so the candidate is V's release followed
#   by more zeros than any release in the sets, then a 1. Every upper end
#   above L comes from a version whose release is greater than V's, and
#   this candidate sorts below all of them;
# - just above V+l: again no least version, so the candidate extends the
#   local label with a segment of more zeros than any label segment in the
#   sets, then an 'a'. Letters sort below numbers in local labels and
#   '0' below every other character, so it sorts below every V+m above V+l
#   that the sets can name.
#
# '===X' matches only the string X (case aside), so the one candidate is X
# and differing '===' strings clash outright.


@functools.lru_cache(maxsize=65536)
def _canonical(text):
    return str(SpecifierSet(text))


@functools.lru_cache(maxsize=65536)
def _specifier_set(text):
    return SpecifierSet(text)


def _key_of(specifier):
    text = specifier if isinstance(specifier, str) else str(specifier)
    return _canonical(text)


def _version(epoch, release, suffix=""):
    return Version(f"{epoch}!{'.'.join(map(str, release))}{suffix}")


def _suffix(pre=None, post=None, dev=None):
    text = f"{pre[0]}{pre[1]}" if pre is not None else ""
    text += f".post{post}" if post is not None else ""
    return text + (f".dev{dev}" if dev is not None else "")


def _just_above(version):
    """Return the least version above ``version`` and all its locals."""
    if version.dev is not None:
        suffix = _suffix(version.pre, version.post, version.dev + 1)
    else:
        post = 0 if version.post is None else version.post + 1
        suffix = _suffix(version.pre, post, 0)
    return _version(version.epoch, version.release, suffix)


def _above_posts(version, depth):
    """Return a version above ``version``, its locals and its post-releases."""
    if version.dev is not None or version.post is not None:
        return _just_above(version)
    if version.pre is not None:
        pre = (version.pre[0], version.pre[1] + 1)
        return _version(version.epoch, version.release, _suffix(pre, dev=0))

    # A final release has no least version above its post-releases; see the
    # notes for why 'depth' zeros keep this one below every other bound.
    release = version.release
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    return _version(version.epoch, (*release, *[0] * depth, 1))


def _candidates(specifiers):
    """Return the versions to try, one per lower end, highest first."""
    parsed = []
    for specifier in specifiers:
        version = Version(specifier.version.removesuffix(".*"))
        parsed.append((specifier.operator, specifier.version, version))

    depth = max((len(version.release) for _, _, version in parsed), default=0)
    label = max(
        (len(part) for _, _, v in parsed for part in (v.local or "").split(".")),
        default=0,
    )
    below_labels = "0" * (label + 1) + "a"

    found = {Version("0.dev0")}
    for operator, text, version in parsed:
        release = version.release
        if text.endswith(".*"):
            if operator == "!=":
                release = (*release[:-1], release[-1] + 1)
            found.add(_version(version.epoch, release, ".dev0"))
        elif operator in ("==", ">=", "~="):
            found.add(version)
        elif operator == "!=" and version.local is not None:
            found.add(Version(f"{version}.{below_labels}"))
        elif operator == "!=":
            found.add(_just_above(version))
        elif operator == ">":
            found.add(_above_posts(version, depth))

    return sorted(found, reverse=True)


@functools.lru_cache(maxsize=65536)
def _witness_of_key(key):
    sets = [_specifier_set(text) for text in key]
    specifiers = [specifier for each in sets for specifier in each]

    arbitrary = [s.version for s in specifiers if s.operator == "==="]
    if arbitrary:
        if len({text.lower() for text in arbitrary}) > 1:
            return None
        candidates = arbitrary[:1]
    else:
        candidates = _candidates(specifiers)

    for candidate in candidates:
        if all(each.contains(candidate, prereleases=True) for each in sets):
            return candidate
    return None


def _sorted_key(texts):
    return tuple(sorted(set(texts)))


def _witness(specifiers):
    """Return a version (or '===' string) that satisfies every set, or None."""
    return _witness_of_key(_sorted_key(key for key in map(_key_of, specifiers) if key))


def is_satisfiable(specifiers):
    """Return whether some version satisfies every specifier set."""
    return _witness(specifiers) is not None


def _holds(texts):
    return _witness_of_key(_sorted_key(texts)) is not None


@functools.lru_cache(maxsize=16384)
def _clash_in(texts):
    """Return positions in ``texts`` of a minimal clashing subset, or None."""
    if _holds(texts):
        return None

    count = len(texts)
    for first in range(count):
        if not _holds((texts[first],)):
            return (first,)
    for first in range(count):
        for second in range(first + 1, count):
            if not _holds((texts[first], texts[second])):
                return (first, second)

    # No pair clashes: drop every set the clash survives without. What is
    # left clashes, and loses the clash without any one of its members.
    kept = list(range(count))
    for position in range(count):
        trial = [p for p in kept if p != position]
        if not _holds(tuple(texts[p] for p in trial)):
            kept = trial
    return tuple(kept)


def find_clash(specifiers):
    """Return indices of a minimal set of specifiers no version satisfies, or None.

    A clashing pair is preferred to a larger clashing subset. Identical
    specifier sets and empty ones are checked once and never named twice.
    """
    first_index = {}
    for index, specifier in enumerate(specifiers):
        key = _key_of(specifier)
        if key:
            first_index.setdefault(key, index)

    texts = tuple(first_index)
    positions = _clash_in(texts)
    if positions is None:
        return None
    return tuple(sorted(first_index[texts[p]] for p in positions))
