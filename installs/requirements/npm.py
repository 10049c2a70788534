"""npm dependencies of skills: parsing, validation and exact range clashes.

Owns the ``name@range`` entries a skill declares, the platform constraints file,
and the decision whether ranges on one package leave any version to install.
"""

import functools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from installs.exceptions import ConflictError, InvalidSpecError
from installs.requirements import source_label

logger = logging.getLogger(__name__)

__all__ = [
    "NpmDependency",
    "find_clash",
    "intersect",
    "is_satisfiable",
    "parse_constraints",
    "parse_dependencies",
    "parse_dependency",
    "parse_entry",
    "satisfies",
]


@dataclass(frozen=True)
class NpmDependency:
    """One accepted npm dependency and where it came from."""

    name: str
    spec: str
    source: str

    @property
    def text(self):
        return f"{self.name}@{self.spec}"


# Skill ids as marketplaces name them; any other source is a free-form label
# such as "platform constraints".
_SHOWN_LENGTH = 60

# npm's rules for new package names (validate-npm-package-name). Core module
# names such as "events" or "buffer" stay allowed: real packages carry them
# as browser polyfills and many skills depend on those.
_NAME_MAX_LENGTH = 214
_RESERVED_NAMES = frozenset({"node_modules", "favicon.ico"})
_NAME_PART = re.compile(r"[a-z0-9._-]+")
_SCOPED_NAME = re.compile(r"@([^/]*)/([^/]*)")

# Entries end up in a package.json and on npm command lines; these characters
# have no place in a name, a range or a dist-tag.
_SHELL_METACHARACTERS = frozenset(";&$`\\'\"(){}[]!?#%")

_GIT_PREFIXES = ("git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:")
_GIT_HOSTS = re.compile(
    r"https?://(?:[^/@]*@)?(?:www\.)?"
    r"(?:github\.com|gitlab\.com|bitbucket\.org|gist\.github\.com)/"
)
_SCP_GIT = re.compile(r"[\w.-]+@[A-Za-z][\w-]*(?:\.[\w-]+)+:")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_PATH_PREFIXES = ("./", "../", "/", "~/", "~\\")
_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")
# npm reads "user/repo" and "user/repo#ref" as GitHub repositories.
_GITHUB_SHORTHAND = re.compile(r"[^@%/\s.-][^:@%/\s]*/[^:@\s/%]+(?:#.*)?")

_REASON_GIT = "git dependencies are not allowed"
_REASON_FILE = "local file dependencies are not allowed"
_REASON_LINK = "link: dependencies are not allowed"
_REASON_URL = "tarball URLs are not allowed"
_REASON_ALIAS = "aliases (npm:) are not allowed"
_REASON_WORKSPACE = "workspace: dependencies are not allowed"

# Dist-tags are URL-safe words. One that starts like a version ("v2", "1.x",
# "x.y") is a mistyped range and gets the range's error instead.
_TAG = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
_VERSIONISH = re.compile(r"v?(?:[0-9]|[xX*](?:\.|$))")


def _shown(entry):
    if not isinstance(entry, str):
        return repr(entry)[:_SHOWN_LENGTH]
    if len(entry) > _SHOWN_LENGTH:
        entry = entry[: _SHOWN_LENGTH - 3] + "..."
    return repr(entry)


def _invalid(entry, reason, *, source):
    return InvalidSpecError(
        f"{source_label(source)}: invalid npm dependency {_shown(entry)}: {reason}.",
        details={"source": source, "entry": entry, "reason": reason},
    )


# Notes on npm ranges
# -------------------
#
# npm hands every range to its bundled node-semver, without includePrerelease.
# This module parses the range grammar itself and desugars each form to the
# comparators node-semver builds: "^1.2.3" to ">=1.2.3 <2.0.0-0", "1.x" to
# ">=1.0.0 <2.0.0-0", "1.2 - 2" to ">=1.2.0 <3.0.0-0", and so on. Two quirks
# of node-semver change which versions match and are kept on purpose: a
# ">=0.0.0" it builds (not one written "v0.0.0") means "any", and a range
# with a bare "*" alternative is "*" as a whole, dropping its other
# alternatives. The grammar accepted here is a strict subset of what npm
# accepts, and npm reads every accepted range the same way in its loose mode
# (the one it uses) as in strict mode; anything npm reads differently or only
# loosely ("01.2.3", "1.2.x-beta", "^1.x.2", an empty "||" alternative) is
# refused rather than guessed.
#
# A version satisfies a range when some alternative's comparators all hold and,
# for a pre-release, some comparator of that same alternative carries a
# pre-release with the same major.minor.patch. ``_Range.test`` says exactly
# that, comparator by comparator.
#
# For clashes each alternative is cut along the order of versions into pieces
# of one "class": the releases, and for each major.minor.patch ``t`` that the
# alternative lets through, the pre-releases of ``t``. Inside one class an
# alternative admits exactly an interval. Each piece is stored half-open,
# ``[a, b)``, with ``a`` the least admitted member of its class and ``b`` the
# least member above it that is not admitted (None: no such member). Both
# ends exist: the least release above "1.2.3-x" is 1.2.3, the least
# pre-release above "1.2.3-x" is "1.2.3-x.0", nothing fits in between. A range
# is the union of its alternatives' pieces, merged per class; merged lists are
# canonical, so equal lists mean equal sets of versions.
#
# Ranges clash exactly when intersecting their piece lists class by class
# leaves nothing: a version is admitted by all of them iff it lies in its
# class's piece of every one. Two pieces of one class meet in
# ``[max(a), min(b))``, and ``max(a)`` is a member of the class, so that meet
# is empty iff ``max(a) >= min(b)``: no version is missed between the bounds.
# The least member of the intersection is a witness; it is checked once more
# with ``_Range.test``, which shares no code with the pieces, and a
# disagreement is logged as a bug. A dist-tag names a version only the
# registry knows, so it is left out: it never clashes here, and npm itself
# reports a tag that misses a range when it resolves.

_MAX_SAFE_INTEGER = 2**53 - 1
# Numbers stay below JavaScript's safe integers so that node-semver compares
# them exactly and the bounds derived from them ("^M" -> "<M+1") stay valid.
_MAX_NUMBER = _MAX_SAFE_INTEGER - 1
# node-semver refuses versions over 256 characters; the witness may add two.
_MAX_VERSION_LENGTH = 250
# The least pre-release identifiers: "1.2.3-0" is below any other "1.2.3-x".
_FLOOR = ((0, 0),)
_ZERO = (0, 0, 0, 1, ())

_RANGE_CHARACTERS = re.compile(r"[0-9A-Za-z.+\-<>=^~*| ]*")
_COMPARATOR = re.compile(r"(\^|~>?|[<>]=?|=)?(v)?(.*)", re.DOTALL)
_PARTIAL = re.compile(
    r"([0-9]+|[xX*])"
    r"(?:\.([0-9]+|[xX*])"
    r"(?:\.([0-9]+|[xX*])"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
    r")?)?"
)
_NUMERIC = re.compile(r"0|[1-9][0-9]*")
_HYPHEN_BOUND = re.compile(r"v?[0-9xX*]")
_VERSION = re.compile(
    r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


class _RangeError(ValueError):
    """A range npm would refuse or that this module will not guess at."""


# Versions are keys that sort as node-semver orders versions:
# (major, minor, patch, 1, ()) for a release and (major, minor, patch, 0, ids)
# for a pre-release, each id (0, number) or (1, text) so numbers sort first.


def _release(major, minor, patch):
    return (major, minor, patch, 1, ())


def _format(key):
    text = f"{key[0]}.{key[1]}.{key[2]}"
    if key[3] == 0:
        text += "-" + ".".join(str(value) for _, value in key[4])
    return text


def _identifiers(text, whole):
    ids = []
    for part in text.split("."):
        if part.isdigit():
            if not _NUMERIC.fullmatch(part):
                raise _RangeError(
                    f"pre-release {part!r} in {whole!r} has a leading zero"
                )
            if int(part) > _MAX_NUMBER:
                raise _RangeError(f"pre-release {part!r} in {whole!r} is too large")
            ids.append((0, int(part)))
        else:
            ids.append((1, part))
    return tuple(ids)


def _partial_problem(text):
    """Say why ``text`` is not a partial version such as 1, 1.2, 1.2.x, 1.2.3-rc."""
    core = text.split("+", 1)[0]
    main, dash, _ = core.partition("-")
    parts = main.split(".")
    if len(parts) > 3:
        return f"{text!r} has more than three version parts"
    for part in parts:
        if not part:
            return f"{text!r} has an empty version part"
        if not (part.isdigit() or part in ("x", "X", "*")):
            return f"version part {part!r} in {text!r} is not a number or x"
    if dash and len(parts) < 3:
        return f"a pre-release needs all three version parts, as in {text!r}"
    return f"{text!r} is not a valid version"


def _partial(text):
    """Parse a partial version into (major, minor, patch, ids); x parts are None."""
    match = _PARTIAL.fullmatch(text)
    if match is None:
        raise _RangeError(_partial_problem(text))

    numbers = []
    for part in match.groups()[:3]:
        if part is None or part in ("x", "X", "*"):
            numbers.append(None)
            continue
        if numbers and numbers[-1] is None:
            raise _RangeError(f"a number cannot follow a wildcard in {text!r}")
        if not _NUMERIC.fullmatch(part):
            raise _RangeError(f"{part!r} in {text!r} has a leading zero")
        if int(part) > _MAX_NUMBER:
            raise _RangeError(f"{part!r} in {text!r} is too large")
        numbers.append(int(part))

    pre = match.group(4)
    if pre is not None and numbers[2] is None:
        raise _RangeError(f"a pre-release cannot follow a wildcard in {text!r}")
    ids = _identifiers(pre, text) if pre is not None else ()
    if len(text.split("+", 1)[0]) > _MAX_VERSION_LENGTH:
        raise _RangeError(f"a version is longer than {_MAX_VERSION_LENGTH} characters")
    return numbers[0], numbers[1], numbers[2], ids


def _key(major, minor, patch, ids):
    return (major, minor, patch, 0, ids) if ids else _release(major, minor, patch)


def _upper_floor(major, minor, patch):
    """Return the key of "<M.m.p-0", node-semver's exclusive upper bound."""
    return (major, minor, patch, 0, _FLOOR)


def _lower_bound(key):
    # node-semver turns the ">=0.0.0" it builds into "any version"; that
    # matters for pre-releases of 0.0.0 when another comparator admits them.
    return [] if key == _ZERO else [(">=", key)]


def _x_range(op, major, minor, patch, ids, written_v):
    """Desugar a comparator or bare partial the way node-semver's x-ranges do."""
    if patch is not None:
        if op == ">=" and not written_v:
            return _lower_bound(_key(major, minor, patch, ids))
        return [(op or "=", _key(major, minor, patch, ids))]
    if major is None:
        # "<x" and ">x" admit nothing; every other operator admits anything.
        return [("<", _upper_floor(0, 0, 0))] if op in ("<", ">") else []
    if op in ("", "="):
        if minor is None:
            return _lower_bound(_release(major, 0, 0)) + [
                ("<", _upper_floor(major + 1, 0, 0))
            ]
        return _lower_bound(_release(major, minor, 0)) + [
            ("<", _upper_floor(major, minor + 1, 0))
        ]
    if op == ">":
        if minor is None:
            return [(">=", _release(major + 1, 0, 0))]
        return [(">=", _release(major, minor + 1, 0))]
    if op == "<=":
        if minor is None:
            return [("<", _upper_floor(major + 1, 0, 0))]
        return [("<", _upper_floor(major, minor + 1, 0))]
    if op == "<":
        return [("<", _upper_floor(major, minor or 0, 0))]
    return _lower_bound(_release(major, minor or 0, 0))


def _caret(major, minor, patch, ids):
    if major is None:
        return []
    if minor is None:
        low, high = _release(major, 0, 0), _upper_floor(major + 1, 0, 0)
    elif patch is None:
        low = _release(major, minor, 0)
        if major == 0:
            high = _upper_floor(0, minor + 1, 0)
        else:
            high = _upper_floor(major + 1, 0, 0)
    else:
        low = _key(major, minor, patch, ids)
        if major != 0:
            high = _upper_floor(major + 1, 0, 0)
        elif minor != 0:
            high = _upper_floor(0, minor + 1, 0)
        else:
            high = _upper_floor(0, 0, patch + 1)
    return _lower_bound(low) + [("<", high)]


def _tilde(major, minor, patch, ids):
    if major is None:
        return []
    if minor is None:
        return _lower_bound(_release(major, 0, 0)) + [
            ("<", _upper_floor(major + 1, 0, 0))
        ]
    low = _release(major, minor, 0) if patch is None else _key(major, minor, patch, ids)
    return _lower_bound(low) + [("<", _upper_floor(major, minor + 1, 0))]


def _hyphen(low_text, high_text):
    comparators = []
    major, minor, patch, ids = _partial(low_text.removeprefix("v"))
    if major is not None:
        if patch is None or not low_text.startswith("v"):
            comparators += _lower_bound(_key(major, minor or 0, patch or 0, ids))
        else:
            comparators.append((">=", _key(major, minor, patch, ids)))

    major, minor, patch, ids = _partial(high_text.removeprefix("v"))
    if major is None:
        pass
    elif minor is None:
        comparators.append(("<", _upper_floor(major + 1, 0, 0)))
    elif patch is None:
        comparators.append(("<", _upper_floor(major, minor + 1, 0)))
    else:
        comparators.append(("<=", _key(major, minor, patch, ids)))
    return comparators


def _comparator(token):
    """Desugar one token: a comparator, a caret, a tilde or a bare partial."""
    op, written_v, rest = _COMPARATOR.fullmatch(token).groups()
    op = op or ""
    if not rest:
        if op or written_v:
            raise _RangeError(f"{token!r} has no version")
        raise _RangeError("empty comparator")
    if rest[0] in "<>=^~" or (written_v and rest[0] == "v"):
        raise _RangeError(f"{token!r} is not a valid comparator")

    major, minor, patch, ids = _partial(rest)
    if op == "^":
        return _caret(major, minor, patch, ids)
    if op.startswith("~"):
        return _tilde(major, minor, patch, ids)
    return _x_range(op, major, minor, patch, ids, bool(written_v))


def _alternative(text):
    """Desugar one side of '||' into the comparators that must all hold."""
    tokens = text.split()
    if not tokens:
        raise _RangeError("empty alternative around '||'")

    if "-" in tokens:
        if len(tokens) != 3 or tokens[1] != "-":
            raise _RangeError("a hyphen range needs one version on each side of ' - '")
        for bound in (tokens[0], tokens[2]):
            if not _HYPHEN_BOUND.match(bound):
                raise _RangeError(f"hyphen range bound {bound!r} must be a version")
        return _hyphen(tokens[0], tokens[2])

    # An operator may stand apart from its version: ">= 1.2.3", "^ 1.2".
    merged = []
    for token in tokens:
        if (
            merged
            and merged[-1] in ("<", "<=", ">", ">=", "=", "^", "~", "~>")
            and token[0] in "0123456789vxX*"
        ):
            merged[-1] += token
        else:
            merged.append(token)

    comparators = []
    for token in merged:
        comparators += _comparator(token)
    return comparators


def _holds(op, bound, key):
    if op == "=":
        return key == bound
    if op == "<":
        return key < bound
    if op == "<=":
        return key <= bound
    if op == ">":
        return key > bound
    return key >= bound


def _lower_piece_end(comparators):
    """Return the tightest lower bound as (key, inclusive), or None."""
    best = None
    for op, key in comparators:
        if op in (">", ">=", "="):
            candidate = (key, op != ">")
            if best is None or (key, not candidate[1]) > (best[0], not best[1]):
                best = candidate
    return best


def _upper_piece_end(comparators):
    best = None
    for op, key in comparators:
        if op in ("<", "<=", "="):
            candidate = (key, op != "<")
            if best is None or (key, candidate[1]) < (best[0], best[1]):
                best = candidate
    return best


def _least_release(lower):
    if lower is None:
        return _ZERO
    key, inclusive = lower
    if key[3] == 0:
        return _release(*key[:3])
    if inclusive:
        return key
    return _release(key[0], key[1], key[2] + 1)


def _release_end(upper):
    if upper is None:
        return None
    key, inclusive = upper
    if key[3] == 0:
        return _release(*key[:3])
    if inclusive:
        return _release(key[0], key[1], key[2] + 1)
    return key


_EMPTY = object()


def _least_prerelease(lower, triple):
    if lower is None or lower[0][:3] < triple:
        return (*triple, 0, _FLOOR)
    key, inclusive = lower
    if key[:3] > triple or key[3] == 1:
        return _EMPTY
    return key if inclusive else (*triple, 0, key[4] + _FLOOR)


def _prerelease_end(upper, triple):
    if upper is None or upper[0][:3] > triple:
        return None
    key, inclusive = upper
    if key[:3] < triple:
        return _EMPTY
    if key[3] == 1:
        return None
    return (*triple, 0, key[4] + _FLOOR) if inclusive else key


def _before(a, b):
    """Return whether ``a`` is below the exclusive end ``b`` (None: no end)."""
    return b is None or a < b


def _merge(intervals):
    """Return the union of half-open intervals as a sorted, canonical tuple."""
    merged = []
    for low, high in sorted(intervals, key=lambda interval: interval[0]):
        if merged:
            last_low, last_high = merged[-1]
            # Overlapping or touching: "[a, b)" and "[b, c)" are "[a, c)".
            if last_high is None or low <= last_high:
                if last_high is not None and (high is None or high > last_high):
                    merged[-1] = (last_low, high)
                continue
        merged.append((low, high))
    return tuple(merged)


def _overlap(left, right):
    """Return the intersection of two canonical interval tuples."""
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        low = max(left[i][0], right[j][0])
        left_high, right_high = left[i][1], right[j][1]
        if left_high is None:
            high = right_high
        elif right_high is None:
            high = left_high
        else:
            high = min(left_high, right_high)
        if _before(low, high):
            out.append((low, high))
        if right_high is None or (left_high is not None and left_high <= right_high):
            i += 1
        else:
            j += 1
    return tuple(out)


@dataclass(frozen=True)
class _Pieces:
    """The versions a range admits: release intervals, pre-release intervals."""

    releases: tuple
    prereleases: tuple  # ((major, minor, patch), intervals), sorted

    def __bool__(self):
        return bool(self.releases or self.prereleases)

    def least(self):
        if self.releases:
            return self.releases[0][0]
        return self.prereleases[0][1][0][0]


def _pieces(alternatives):
    releases = []
    prereleases = {}
    for comparators in alternatives:
        lower = _lower_piece_end(comparators)
        upper = _upper_piece_end(comparators)
        low, high = _least_release(lower), _release_end(upper)
        if _before(low, high):
            releases.append((low, high))
        for triple in {key[:3] for _, key in comparators if key[3] == 0}:
            low = _least_prerelease(lower, triple)
            high = _prerelease_end(upper, triple)
            if low is not _EMPTY and high is not _EMPTY and _before(low, high):
                prereleases.setdefault(triple, []).append((low, high))
    return _Pieces(
        _merge(releases),
        tuple(sorted((t, _merge(spans)) for t, spans in prereleases.items())),
    )


def _meet_two(left, right):
    common = dict(right.prereleases)
    prereleases = []
    for triple, spans in left.prereleases:
        if triple in common:
            shared = _overlap(spans, common[triple])
            if shared:
                prereleases.append((triple, shared))
    return _Pieces(_overlap(left.releases, right.releases), tuple(prereleases))


@functools.lru_cache(maxsize=8192)
def _meet(all_pieces):
    """Return the versions every range admits, or None for no range at all."""
    result = None
    for pieces in sorted(all_pieces, key=_size):
        result = pieces if result is None else _meet_two(result, pieces)
        if not result:
            break
    return result


def _size(pieces):
    return len(pieces.releases) + len(pieces.prereleases)


@dataclass(frozen=True)
class _Range:
    """A parsed range: alternatives of comparators, and the versions they admit."""

    alternatives: tuple
    pieces: _Pieces

    def test(self, key):
        for comparators in self.alternatives:
            if not all(_holds(op, bound, key) for op, bound in comparators):
                continue
            if key[3] == 1:
                return True
            # node-semver's pre-release rule: a pre-release passes only when
            # this alternative names a pre-release of the same major.minor.patch.
            if any(bound[3] == 0 and bound[:3] == key[:3] for _, bound in comparators):
                return True
        return False


_TAG_SPEC = object()


@functools.lru_cache(maxsize=65536)
def _parse_spec(spec):
    """Return a ``_Range``, ``_TAG_SPEC`` for a dist-tag, or raise ``_RangeError``."""
    if _TAG.fullmatch(spec) and not _VERSIONISH.match(spec):
        return _TAG_SPEC

    if not _RANGE_CHARACTERS.fullmatch(spec):
        bad = next(c for c in spec if not _RANGE_CHARACTERS.fullmatch(c))
        raise _RangeError(f"unexpected character {bad!r}")

    texts = spec.split("||")
    if any("|" in text for text in texts):
        raise _RangeError("alternatives are separated by '||', not '|'")
    alternatives = [tuple(_alternative(text)) for text in texts]
    # node-semver makes a range with a bare "*" alternative "*" as a whole,
    # which drops the pre-releases its other alternatives would admit.
    if any(not comparators for comparators in alternatives):
        alternatives = [()]
    return _Range(tuple(alternatives), _pieces(alternatives))


def _spec_location_problem(spec):
    """Return why ``spec`` points somewhere other than the registry, if it does."""
    lowered = spec.lower()
    if lowered.startswith("npm:"):
        return _REASON_ALIAS
    if lowered.startswith("workspace:"):
        return _REASON_WORKSPACE
    if lowered.startswith("file:"):
        return _REASON_FILE
    if lowered.startswith("link:"):
        return _REASON_LINK
    if lowered.startswith(_GIT_PREFIXES) or _SCP_GIT.match(spec):
        return _REASON_GIT
    if lowered.startswith(("http:", "https:")):
        if _GIT_HOSTS.match(lowered) or lowered.split("#", 1)[0].endswith(".git"):
            return _REASON_GIT
        return _REASON_URL
    scheme = _SCHEME.match(spec)
    if scheme:
        return f"'{scheme.group(1)}:' dependencies are not allowed"
    # npm takes a path before a GitHub shorthand: "~/x" is a directory.
    if lowered.startswith(_PATH_PREFIXES) or lowered in (".", ".."):
        return _REASON_FILE
    if _GITHUB_SHORTHAND.fullmatch(spec):
        return _REASON_GIT
    return None


def _path_problem(spec):
    """Return why npm would read ``spec`` as a local path, if it would."""
    if spec.lower().endswith(_ARCHIVE_SUFFIXES) or "/" in spec or "\\" in spec:
        return _REASON_FILE
    return None


def _metacharacter_problem(text):
    for character in text:
        if character in _SHELL_METACHARACTERS:
            return f"shell metacharacter {character!r} is not allowed"
        if character < " " or character == "\x7f":
            return f"control character {character!r} is not allowed"
    return None


@functools.lru_cache(maxsize=65536)
def _name_problem(name):
    """Return why ``name`` breaks npm's rules for new package names, if it does."""
    if not name:
        return "the package name is empty"
    if name.strip() != name:
        return "the package name has leading or trailing spaces"
    if len(name) > _NAME_MAX_LENGTH:
        return f"the package name is longer than {_NAME_MAX_LENGTH} characters"
    if name.startswith("."):
        return "the package name cannot start with '.'"
    if name.startswith("_"):
        return "the package name cannot start with '_'"
    if name.lower() in _RESERVED_NAMES:
        return f"{name!r} is a reserved name"
    if name.lower() != name:
        return "the package name cannot contain uppercase letters"
    if " " in name:
        return "the package name cannot contain spaces"
    if any(character in "~'!()*" for character in name):
        return "the package name cannot contain any of ~'!()*"

    if name.startswith("@"):
        match = _SCOPED_NAME.fullmatch(name)
        if match is None or not all(match.groups()):
            return "a scoped package name must look like '@scope/name'"
        parts = match.groups()
    else:
        parts = (name,)
    for part in parts:
        if not _NAME_PART.fullmatch(part):
            return "the package name can only contain URL-safe characters"
        if part.startswith("."):
            return "the package name cannot start with '.'"
    return None


@functools.lru_cache(maxsize=65536)
def _dependency_problem(name, spec):
    """Return why the stripped ``spec`` on ``name`` is refused, if it is."""
    problem = (
        _spec_location_problem(spec)
        or _metacharacter_problem(name)
        or _metacharacter_problem(spec)
        or _path_problem(spec)
        or _name_problem(name)
    )
    if problem:
        return problem
    try:
        _parse_spec(spec or "*")
    except _RangeError as exc:
        return str(exc)
    return None


def parse_dependency(name, spec, *, source):
    """Parse one ``name`` and range declared by ``source``, or raise."""
    if not isinstance(name, str):
        raise _invalid(
            name, f"the name must be a string, not {type(name).__name__}", source=source
        )
    if not isinstance(spec, str):
        raise _invalid(
            name,
            f"the range must be a string, not {type(spec).__name__}",
            source=source,
        )

    stripped = spec.strip()
    entry = f"{name}@{stripped}" if stripped else name
    limit = settings.SKILLINSTALL_MAX_SPEC_LENGTH
    if len(name) + 1 + len(stripped) > limit:
        raise _invalid(entry, f"longer than {limit} characters", source=source)

    problem = _dependency_problem(name, stripped)
    if problem:
        raise _invalid(entry, problem, source=source)
    return NpmDependency(name=name, spec=stripped or "*", source=source)


def parse_entry(text, *, source):
    """Parse one ``name@range`` (or bare ``name``) entry declared by ``source``."""
    if not isinstance(text, str):
        raise _invalid(
            text,
            f"the entry must be a string, not {type(text).__name__}",
            source=source,
        )

    entry = text.strip()
    limit = settings.SKILLINSTALL_MAX_SPEC_LENGTH
    if len(entry) > limit:
        raise _invalid(entry, f"longer than {limit} characters", source=source)

    # Whole-entry forms with no package name in front: "github:user/repo",
    # "user/repo", "./local", "https://host/x.tgz", "git@host:user/repo".
    at = entry.find("@", 1 if entry.startswith("@") else 0)
    head = entry if at < 0 else entry[:at]
    if not entry.startswith("@") and (
        "/" in head or ":" in head or "\\" in head or _SCP_GIT.match(entry)
    ):
        problem = (
            _spec_location_problem(entry)
            or _metacharacter_problem(entry)
            or _REASON_FILE
        )
        raise _invalid(entry, problem, source=source)
    if entry.lower().endswith(_ARCHIVE_SUFFIXES) and at < 0:
        raise _invalid(entry, _REASON_FILE, source=source)

    if at < 0:
        return parse_dependency(entry, "", source=source)
    name, spec = entry[:at], entry[at + 1 :]
    if not spec.strip():
        return parse_dependency(name, "", source=source)
    try:
        return parse_dependency(name, spec, source=source)
    except InvalidSpecError as exc:
        # Report the entry as written, not as rebuilt from its two halves.
        raise _invalid(entry, exc.details["reason"], source=source) from None


def _check_count(count, source):
    limit = settings.SKILLINSTALL_MAX_DEPENDENCIES
    if count > limit:
        raise InvalidSpecError(
            f"{source_label(source)}: too many npm dependencies ({count}); "
            f"at most {limit} are allowed.",
            details={"source": source, "count": count, "limit": limit},
        )


def parse_dependencies(value, *, source):
    """Parse the npm dependencies declared by ``source``; report the first bad.

    ``value`` is an object of name to range, as in package.json, or a list of
    ``name@range`` strings; a list may name one package more than once.
    """
    if isinstance(value, dict):
        _check_count(len(value), source)
        return [
            parse_dependency(name, spec, source=source) for name, spec in value.items()
        ]
    if isinstance(value, list | tuple):
        _check_count(len(value), source)
        return [parse_entry(text, source=source) for text in value]
    raise InvalidSpecError(
        f"{source_label(source)}: npm dependencies must be an object of name to "
        f"range or a list of 'name@range' strings, got {type(value).__name__}.",
        details={"source": source},
    )


_JSON_TYPES = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    pass


def parse_constraints(text, *, source):
    """Parse a constraints file body: a JSON object of package name to range.

    A blank body means no constraints.
    """
    label = source_label(source)
    if not isinstance(text, str):
        raise InvalidSpecError(
            f"{label}: npm constraints must be text, got {type(text).__name__}.",
            details={"source": source},
        )
    if not text.strip():
        return []

    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InvalidSpecError(
            f"{label}: npm constraints are not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno}).",
            details={"source": source},
        ) from None
    except _DuplicateKey as exc:
        raise InvalidSpecError(
            f"{label}: npm constraints name {exc.args[0]!r} more than once.",
            details={"source": source, "entry": exc.args[0]},
        ) from None

    if not isinstance(value, dict):
        kind = _JSON_TYPES.get(type(value), type(value).__name__)
        raise InvalidSpecError(
            f"{label}: npm constraints must be a JSON object of package name to "
            f"range, got {kind}.",
            details={"source": source},
        )
    return parse_dependencies(value, source=source)


def _range_of(spec):
    """Return the ``_Range`` of a range string, None for a dist-tag, or raise."""
    text = spec.strip() or "*"
    try:
        parsed = _parse_spec(text)
    except _RangeError as exc:
        raise InvalidSpecError(
            f"Invalid npm range {_shown(spec)}: {exc}.",
            details={"entry": spec, "reason": str(exc)},
        ) from None
    return None if parsed is _TAG_SPEC else parsed


def _version_key(text):
    text = text.strip()
    match = _VERSION.fullmatch(text)
    if match is None or len(text) > 256:
        return None
    major, minor, patch = (int(part) for part in match.groups()[:3])
    if max(major, minor, patch) > _MAX_SAFE_INTEGER:
        return None
    pre = match.group(4)
    if pre is None:
        return _release(major, minor, patch)
    ids = []
    for part in pre.split("."):
        if part.isdigit():
            if not _NUMERIC.fullmatch(part):
                return None
            ids.append((0, int(part)))
        else:
            ids.append((1, part))
    return (major, minor, patch, 0, tuple(ids))


def satisfies(version, spec):
    """Return whether ``version`` satisfies the npm range ``spec``.

    As in node-semver, a version that is not valid semver satisfies nothing, and
    neither does a dist-tag: which version it names is only known to the registry.
    """
    parsed = _range_of(spec)
    key = _version_key(version) if isinstance(version, str) else None
    if parsed is None or key is None:
        return False
    return parsed.test(key)


def _ranges(specs):
    return [parsed for parsed in map(_range_of, specs) if parsed is not None]


def _witness(specs):
    """Return the least version (a release if any) satisfying every range, or None.

    Dist-tags are left out; with no range left, any version will do.
    """
    ranges = _ranges(specs)
    if not ranges:
        return _format(_ZERO)

    common = _meet(frozenset(parsed.pieces for parsed in ranges))
    if not common:
        return None
    key = common.least()
    if not all(parsed.test(key) for parsed in ranges):
        logger.error(
            "npm clash check disagrees with itself: witness=%s specs=%r",
            _format(key),
            list(specs),
        )
    return _format(key)


def is_satisfiable(specs):
    """Return whether some version satisfies every npm range in ``specs``."""
    return _witness(specs) is not None


def find_clash(specs: Sequence):
    """Return indices of a minimal set of ranges no version satisfies, or None.

    A pair is returned whenever some pair clashes; otherwise the set is cut
    down one range at a time until each remaining range is needed.
    """
    firsts = {}
    for index, parsed in enumerate(map(_range_of, specs)):
        if parsed is not None:
            firsts.setdefault(parsed.pieces, index)
    groups = list(firsts.items())

    def clash(members):
        return not _meet(frozenset(pieces for pieces, _ in members))

    if not groups or not clash(groups):
        return None
    for group in groups:
        if not group[0]:
            return (group[1],)
    for i, left in enumerate(groups):
        for right in groups[i + 1 :]:
            if clash((left, right)):
                return (left[1], right[1])

    core = list(groups)
    for group in groups:
        rest = [member for member in core if member is not group]
        if clash(rest):
            core = rest
    return tuple(sorted(index for _, index in core))


def _render(pieces):
    alternatives = []
    for low, high in pieces.releases:
        if high == _release(low[0], low[1], low[2] + 1):
            alternatives.append(_format(low))
            continue
        bounds = [] if low == _ZERO else [f">={_format(low)}"]
        if high is not None:
            bounds.append(f"<{_format(high)}")
        if bounds:
            alternatives.append(" ".join(bounds))
        elif pieces.prereleases:
            # A bare "*" alternative would make node-semver drop the others.
            alternatives.append("0.0.0 || >0.0.0")
        else:
            alternatives.append("*")
    for triple, spans in pieces.prereleases:
        for low, high in spans:
            if high == (*triple, 0, low[4] + _FLOOR):
                alternatives.append(_format(low))
                continue
            end = _release(*triple) if high is None else high
            alternatives.append(f">={_format(low)} <{_format(end)}")
    return " || ".join(alternatives)


def intersect(specs: Sequence):
    """Return one npm range admitting exactly the versions all ``specs`` admit.

    When one of the specs already is that range it is returned as written. A
    dist-tag cannot be folded into a range: beside ranges it is dropped, as
    only the ranges can be checked and npm takes the newest version they
    admit; two different tags alone are refused.
    """
    distinct = list(dict.fromkeys(spec.strip() or "*" for spec in specs))
    if not distinct:
        raise ValueError("intersect() needs at least one spec")
    if len(distinct) == 1:
        _range_of(distinct[0])
        return distinct[0]

    ranges = [(spec, _range_of(spec)) for spec in distinct]
    tags = [spec for spec, parsed in ranges if parsed is None]
    ranges = [(spec, parsed) for spec, parsed in ranges if parsed is not None]
    if not ranges:
        raise InvalidSpecError(
            f"npm dist-tags {', '.join(map(repr, tags))} name different versions: "
            "declare one of them.",
            details={"entry": tags},
        )
    if tags:
        logger.info("npm dist-tags dropped beside ranges: tags=%s", ",".join(tags))
    if len(ranges) == 1:
        return ranges[0][0]

    common = _meet(frozenset(parsed.pieces for _, parsed in ranges))
    if not common:
        shown = [spec for spec, _ in ranges]
        raise ConflictError(
            f"No npm version satisfies all of {', '.join(map(repr, shown))}.",
            conflicts=shown,
        )
    for spec, parsed in ranges:
        if parsed.pieces == common:
            return spec
    return _render(common)
