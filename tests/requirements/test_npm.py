"""Tests of npm dependency parsing, validation and range clashes.

Range semantics are checked against the node-semver that npm itself ships, run
in one node process per module that answers batched JSON requests.
"""

import itertools
import json
import os
import random
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from installs.exceptions import ConflictError, InvalidSpecError
from installs.requirements import npm
from installs.requirements.npm import NpmDependency

ORACLE_SCRIPT = r"""
const path = require('path')
const readline = require('readline')
const root = process.argv[1]
const semver = require(path.join(root, 'semver'))
const validateName = require(path.join(root, 'validate-npm-package-name'))

const makeRange = (text, loose) => {
  try { return new semver.Range(text, { loose }) } catch (er) { return null }
}
const makeVersion = (text, loose) => {
  try { return new semver.SemVer(text, { loose }) } catch (er) { return null }
}
const holdsAll = (version, ranges) => ranges.every((range) => range.test(version))

const handlers = {
  matrix ({ ranges, versions, loose }) {
    const parsed = versions.map((v) => makeVersion(v, loose))
    return ranges.map((text) => {
      const range = makeRange(text, loose)
      if (range === null) return null
      return parsed.map((v) => (v !== null && range.test(v) ? '1' : '0')).join('')
    })
  },
  names ({ names }) {
    return names.map((name) => {
      const result = validateName(name)
      return { newOk: result.validForNewPackages, warnings: result.warnings || [] }
    })
  },
  check ({ brute, holds, same }) {
    const loose = true
    return {
      brute: brute.map(({ ranges, universe }) => {
        const parsed = ranges.map((r) => makeRange(r, loose))
        if (parsed.includes(null)) return null
        return universe.some((v) => holdsAll(makeVersion(v, loose), parsed))
      }),
      holds: holds.map(({ version, ranges }) => {
        const parsed = ranges.map((r) => makeRange(r, loose))
        const v = makeVersion(version, false)
        if (v === null || parsed.includes(null)) return false
        return holdsAll(v, parsed)
      }),
      same: same.map(({ merged, ranges, universe }) => {
        const one = makeRange(merged, false)
        const parsed = ranges.map((r) => makeRange(r, loose))
        if (one === null || parsed.includes(null)) return false
        return universe.every((text) => {
          const v = makeVersion(text, loose)
          return one.test(v) === holdsAll(v, parsed)
        })
      }),
    }
  },
}

const lines = readline.createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const { op, args } = JSON.parse(line)
  process.stdout.write(JSON.stringify(handlers[op](args)) + '\n')
})
"""


class Oracle:
    """npm's own node-semver, asked in batches over one long-lived process."""

    def __init__(self, modules):
        self.process = subprocess.Popen(
            ["node", "-e", ORACLE_SCRIPT, modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, op, **args):
        self.process.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the node-semver oracle stopped"
        return json.loads(answer)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


def npm_modules():
    """Return the node_modules directory of the npm on PATH."""
    root = subprocess.run(
        ["npm", "root", "-g"], capture_output=True, text=True, check=True
    ).stdout.strip()
    candidates = [os.path.join(root, "npm", "node_modules")]
    npm_bin = shutil.which("npm")
    if npm_bin:
        candidates.append(
            os.path.join(
                os.path.dirname(os.path.realpath(npm_bin)), "..", "node_modules"
            )
        )
    for candidate in candidates:
        if os.path.isdir(os.path.join(candidate, "semver")):
            return candidate
    pytest.fail(f"npm's bundled semver not found under {candidates}")


@pytest.fixture(scope="module")
def oracle():
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to compare with node-semver")
    process = Oracle(npm_modules())
    yield process
    process.close()


# --- The required examples ---------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "clash"),
    [
        (["^4.17.0", "4.17.21"], None),
        (["1.2.3 - 2.3.4", "^2.4.0"], (0, 1)),
        (["^1.0.0", "^2.0.0"], (0, 1)),
        ([">=1.0.0-beta.1 <1.0.0", "1.0.0-beta.2"], None),
        (["^1.2.3-beta.1", "1.2.4-beta.1"], (0, 1)),
        (["*", "^1.2.3"], None),
        (["*", ">=5.0.0 <5.0.1"], None),
        (["1.x || 3.x", "^3.1"], None),
        (["1.x || 2.x", "2.x || 3.x", "1.x || 3.x"], (0, 1, 2)),
        (["*", "1.x || 2.x", ">=1", "2.x || 3.x", "1.x || 3.x"], (1, 3, 4)),
        ([">=1.2.3 >=1.2.3-beta", ">=1.2.3-a <1.2.3"], (0, 1)),
        (["<=1.2.3 <1.2.3", "1.2.3"], (0, 1)),
        (["<1.2.3 <=1.2.3", "1.2.3"], (0, 1)),
        ([">=1.2.3 >1.2.3", "1.2.3"], (0, 1)),
        (["^1.0.0", "^1.2.0", "^2.0.0", "~1.2.3"], (0, 2)),
        (["latest", "^1.0.0", "next"], None),
        ([">=2.0.0 <1.0.0", "*"], (0,)),
        (["^1.0.0", "1.x", "^2.0.0"], (0, 2)),
        (["<0.0.0-0"], (0,)),
        ([], None),
    ],
)
def test_find_clash_required_examples(specs, clash):
    assert npm.find_clash(specs) == clash
    assert npm.is_satisfiable(specs) is (clash is None)


@pytest.mark.parametrize(
    ("specs", "witness"),
    [
        (["^4.17.0", "4.17.21"], "4.17.21"),
        ([">=1.0.0-beta.1 <1.0.0", "1.0.0-beta.2"], "1.0.0-beta.2"),
        (["1.x || 3.x", "^3.1"], "3.1.0"),
        (["^1.2.3-beta.1"], "1.2.3"),
        ([">1.2.3-beta <1.2.3"], "1.2.3-beta.0"),
        (["latest"], "0.0.0"),
    ],
)
def test_witness_is_the_least_version_preferring_releases(specs, witness):
    assert npm._witness(specs) == witness


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("4.17.21", "^4.17.0", True),
        ("5.0.0", "^4.17.0", False),
        ("1.2.3-beta.2", "^1.2.3-beta.1", True),
        ("1.2.4-beta.1", "^1.2.3-beta.1", False),
        ("1.0.0-beta.2", ">=1.0.0-beta.1 <1.0.0", True),
        ("2.0.0-rc.1", "1.x", False),
        ("0.0.0-alpha", ">=0.0.0 <=0.0.0-beta", True),
        ("0.0.0-alpha", ">=v0.0.0 <=0.0.0-beta", False),
        ("1.2.3-beta.2", "* || ^1.2.3-beta.1", False),
        ("v1.2.3", "1.2.3", True),
        ("1.2.3+build.5", "=1.2.3", True),
        ("1.2", "*", False),
        ("not a version", "*", False),
        ("1.0.0", "latest", False),
    ],
)
def test_satisfies_examples(version, spec, expected):
    assert npm.satisfies(version, spec) is expected


def test_satisfies_refuses_an_invalid_range():
    with pytest.raises(InvalidSpecError) as caught:
        npm.satisfies("1.0.0", "^4.x.y")

    assert caught.value.message == (
        "Invalid npm range '^4.x.y': version part 'y' in '4.x.y' is not a number or x."
    )


# --- Parsing and validation --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "spec"),
    [
        ("lodash@^4.17.0", "lodash", "^4.17.0"),
        ("lodash", "lodash", "*"),
        ("lodash@", "lodash", "*"),
        ("  lodash@ ~1.2  ", "lodash", "~1.2"),
        ("@types/node@20.0.0", "@types/node", "20.0.0"),
        ("@types/node", "@types/node", "*"),
        ("@babel/core@>= 7.0.0 < 8", "@babel/core", ">= 7.0.0 < 8"),
        ("chalk@1.2.3 - 2.3.4", "chalk", "1.2.3 - 2.3.4"),
        ("react@latest", "react", "latest"),
        ("react@next", "react", "next"),
        ("react@v18.2.0", "react", "v18.2.0"),
        ("react@=18.2.0", "react", "=18.2.0"),
        ("a@1.0.0-beta.1+exp.sha.5114f85", "a", "1.0.0-beta.1+exp.sha.5114f85"),
        ("a@1 || 2 ||3", "a", "1 || 2 ||3"),
        ("events@^3.3.0", "events", "^3.3.0"),
        ("@scope/_private@1", "@scope/_private", "1"),
    ],
)
def test_parse_entry_accepts(text, name, spec):
    dependency = npm.parse_entry(text, source="acme/x")

    assert dependency == NpmDependency(name=name, spec=spec, source="acme/x")
    assert dependency.text == f"{name}@{spec}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lodash@^4.x.y", "version part 'y' in '4.x.y' is not a number or x"),
        ("lodash@>=>1", "'>=>1' is not a valid comparator"),
        ("lodash@1.2.3.4", "'1.2.3.4' has more than three version parts"),
        ("lodash@x.y", "version part 'y' in 'x.y' is not a number or x"),
        ("lodash@01.2.3", "'01' in '01.2.3' has a leading zero"),
        ("lodash@1.2.3-01", "pre-release '01' in '1.2.3-01' has a leading zero"),
        (
            "lodash@1.2-beta",
            "a pre-release needs all three version parts, as in '1.2-beta'",
        ),
        ("lodash@1.2.x-beta", "a pre-release cannot follow a wildcard in '1.2.x-beta'"),
        ("lodash@^1.x.2", "a number cannot follow a wildcard in '1.x.2'"),
        (
            "lodash@99999999999999999",
            "'99999999999999999' in '99999999999999999' is too large",
        ),
        ("lodash@1 ||", "empty alternative around '||'"),
        ("lodash@1 | 2", "alternatives are separated by '||', not '|'"),
        ("lodash@1 - 2 - 3", "a hyphen range needs one version on each side of ' - '"),
        ("lodash@>=1 - 2", "hyphen range bound '>=1' must be a version"),
        ("lodash@>=", "'>=' has no version"),
        ("lodash@^=1.2.3", "'^=1.2.3' is not a valid comparator"),
        ("lodash@1.2.3,1.2.4", "unexpected character ','"),
        ("lodash@github:lodash/lodash", "git dependencies are not allowed"),
        (
            "lodash@git+https://github.com/lodash/lodash.git",
            "git dependencies are not allowed",
        ),
        ("lodash@lodash/lodash", "git dependencies are not allowed"),
        ("lodash@lodash/lodash#v4", "git dependencies are not allowed"),
        ("github:lodash/lodash", "git dependencies are not allowed"),
        ("lodash/lodash", "git dependencies are not allowed"),
        ("git@github.com:lodash/lodash.git", "git dependencies are not allowed"),
        ("lodash@https://github.com/lodash/lodash", "git dependencies are not allowed"),
        ("lodash@file:../lodash", "local file dependencies are not allowed"),
        ("lodash@../lodash", "local file dependencies are not allowed"),
        ("./lodash", "local file dependencies are not allowed"),
        ("~/lodash", "local file dependencies are not allowed"),
        ("lodash@~/lodash", "local file dependencies are not allowed"),
        ("lodash-4.17.21.tgz", "local file dependencies are not allowed"),
        ("lodash@link:../lodash", "link: dependencies are not allowed"),
        ("lodash@https://example.com/lodash.tgz", "tarball URLs are not allowed"),
        ("https://example.com/lodash.tgz", "tarball URLs are not allowed"),
        ("lodash@npm:underscore@1", "aliases (npm:) are not allowed"),
        ("lodash@workspace:*", "workspace: dependencies are not allowed"),
        ("lodash@ssh:x", "'ssh:' dependencies are not allowed"),
        ("lodash@1.0.0; rm -rf /", "shell metacharacter ';' is not allowed"),
        ("lodash@$(whoami)", "shell metacharacter '$' is not allowed"),
        ("lodash@`id`", "shell metacharacter '`' is not allowed"),
        ("lodash@1.0.0 && echo", "shell metacharacter '&' is not allowed"),
        ("lodash@1.0.0\nx", "control character '\\n' is not allowed"),
        ("Lodash@1", "the package name cannot contain uppercase letters"),
        (".lodash@1", "the package name cannot start with '.'"),
        ("_lodash@1", "the package name cannot start with '_'"),
        ("node_modules@1", "'node_modules' is a reserved name"),
        ("favicon.ico", "'favicon.ico' is a reserved name"),
        ("lo~dash@1", "the package name cannot contain any of ~'!()*"),
        ("lodash!@1", "shell metacharacter '!' is not allowed"),
        ("lodäsh@1", "the package name can only contain URL-safe characters"),
        ("@types@1", "a scoped package name must look like '@scope/name'"),
        ("@types/@1", "a scoped package name must look like '@scope/name'"),
        ("@/node@1", "a scoped package name must look like '@scope/name'"),
        ("@types/node/x@1", "a scoped package name must look like '@scope/name'"),
        ("@types/.node@1", "the package name cannot start with '.'"),
        ("@1.0.0", "a scoped package name must look like '@scope/name'"),
        ("@ty pes/node", "the package name cannot contain spaces"),
        ("a" * 215, "the package name is longer than 214 characters"),
    ],
)
def test_parse_entry_refuses_with_one_sentence(text, reason):
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_entry(text, source="acme/x")

    shown = text.strip()
    shown = repr(shown if len(shown) <= 60 else shown[:57] + "...")
    assert caught.value.message == (
        f"Skill 'acme/x': invalid npm dependency {shown}: {reason}."
    )
    assert caught.value.code == "invalid_spec"
    assert caught.value.details["reason"] == reason


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        (
            "lodash",
            4,
            (
                "Skill 'acme/x': invalid npm dependency 'lodash': "
                "the range must be a string, not int."
            ),
        ),
        (
            "lodash",
            None,
            (
                "Skill 'acme/x': invalid npm dependency 'lodash': "
                "the range must be a string, not NoneType."
            ),
        ),
        (
            7,
            "^1",
            (
                "Skill 'acme/x': invalid npm dependency 7: "
                "the name must be a string, not int."
            ),
        ),
        (
            "",
            "^1",
            "Skill 'acme/x': invalid npm dependency '@^1': the package name is empty.",
        ),
        (
            " lodash",
            "^1",
            (
                "Skill 'acme/x': invalid npm dependency ' lodash@^1': "
                "the package name has leading or trailing spaces."
            ),
        ),
    ],
)
def test_parse_dependency_refuses(name, spec, message):
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_dependency(name, spec, source="acme/x")

    assert caught.value.message == message


def test_parse_dependency_strips_and_defaults_the_range():
    assert npm.parse_dependency("lodash", "  ", source="acme/x").spec == "*"
    assert npm.parse_dependency("lodash", " ^4 ", source="acme/x").spec == "^4"


def test_sources_other_than_skills_are_named_as_given():
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_dependency("react", "^x.1", source="platform constraints")

    assert caught.value.message == (
        "Platform constraints: invalid npm dependency 'react@^x.1': "
        "a number cannot follow a wildcard in 'x.1'."
    )


def test_entries_over_the_length_limit_are_refused(settings):
    settings.SKILLINSTALL_MAX_SPEC_LENGTH = 20

    npm.parse_entry("lodash@>=4.17.0 <5", source="acme/x")
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_entry("lodash@>=4.17.0 <5.0.0", source="acme/x")
    assert caught.value.message == (
        "Skill 'acme/x': invalid npm dependency 'lodash@>=4.17.0 <5.0.0': "
        "longer than 20 characters."
    )
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_dependency("lodash", ">=4.17.0 <5.0.0", source="acme/x")
    assert caught.value.message == (
        "Skill 'acme/x': invalid npm dependency 'lodash@>=4.17.0 <5.0.0': "
        "longer than 20 characters."
    )


def test_long_entries_are_shortened_in_messages():
    text = "lodash@" + "1" * 100

    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_entry(text, source="acme/x")

    assert caught.value.message.startswith(
        f"Skill 'acme/x': invalid npm dependency '{text[:57]}...': "
    )


def test_parse_dependencies_takes_an_object_or_a_list():
    from_object = npm.parse_dependencies(
        {"lodash": "^4.17.0", "@types/node": ""}, source="acme/x"
    )
    from_list = npm.parse_dependencies(
        ["lodash@^4.17.0", "lodash@4.17.21", "@types/node"], source="acme/x"
    )

    assert [dep.text for dep in from_object] == ["lodash@^4.17.0", "@types/node@*"]
    assert [dep.text for dep in from_list] == [
        "lodash@^4.17.0",
        "lodash@4.17.21",
        "@types/node@*",
    ]
    assert {dep.source for dep in from_object + from_list} == {"acme/x"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "lodash@1",
            (
                "Skill 'acme/x': npm dependencies must be an object of name to range "
                "or a list of 'name@range' strings, got str."
            ),
        ),
        (
            None,
            (
                "Skill 'acme/x': npm dependencies must be an object of name to range "
                "or a list of 'name@range' strings, got NoneType."
            ),
        ),
        (
            ["lodash@1", 42],
            (
                "Skill 'acme/x': invalid npm dependency 42: "
                "the entry must be a string, not int."
            ),
        ),
        (
            {"lodash": ["1"]},
            (
                "Skill 'acme/x': invalid npm dependency 'lodash': "
                "the range must be a string, not list."
            ),
        ),
    ],
)
def test_parse_dependencies_refuses(value, message):
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_dependencies(value, source="acme/x")

    assert caught.value.message == message


@pytest.mark.parametrize("shape", [dict, list])
def test_too_many_dependencies_are_refused(settings, shape):
    settings.SKILLINSTALL_MAX_DEPENDENCIES = 3
    names = [f"pkg{number}" for number in range(4)]
    value = {name: "1" for name in names} if shape is dict else names

    npm.parse_dependencies(
        value[:3] if shape is list else dict(list(value.items())[:3]), source="acme/x"
    )
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_dependencies(value, source="acme/x")

    assert caught.value.message == (
        "Skill 'acme/x': too many npm dependencies (4); at most 3 are allowed."
    )


def test_parse_constraints_reads_a_json_object():
    constraints = npm.parse_constraints(
        '{"react": "^18.2.0", "@types/node": ">=18"}', source="platform constraints"
    )

    assert constraints == [
        NpmDependency("react", "^18.2.0", "platform constraints"),
        NpmDependency("@types/node", ">=18", "platform constraints"),
    ]
    assert npm.parse_constraints(" \n", source="platform constraints") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"react": ^18}',
            (
                "Platform constraints: npm constraints are not valid JSON: "
                "Expecting value (line 1, column 11)."
            ),
        ),
        (
            '["react@^18"]',
            (
                "Platform constraints: npm constraints must be a JSON object of "
                "package name to range, got array."
            ),
        ),
        (
            '{"react": "^18", "react": "^17"}',
            "Platform constraints: npm constraints name 'react' more than once.",
        ),
        (
            '{"react": 18}',
            (
                "Platform constraints: invalid npm dependency 'react': "
                "the range must be a string, not int."
            ),
        ),
        (
            '{"react": "github:facebook/react"}',
            (
                "Platform constraints: invalid npm dependency "
                "'react@github:facebook/react': git dependencies are not allowed."
            ),
        ),
    ],
)
def test_parse_constraints_refuses(text, message):
    with pytest.raises(InvalidSpecError) as caught:
        npm.parse_constraints(text, source="platform constraints")

    assert caught.value.message == message


# --- intersect ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("specs", "merged"),
    [
        (["^4.17.0"], "^4.17.0"),
        (["^4.17.0", "^4.17.0", " ^4.17.0 "], "^4.17.0"),
        (["^4.17.0", "4.17.21"], "4.17.21"),
        ([">=1.0.0 <3.0.0-0", "1.x || 2.x"], ">=1.0.0 <3.0.0-0"),
        (["latest", "latest"], "latest"),
        ([">=1.2.0", "<2"], ">=1.2.0 <2.0.0"),
        (["1.x || 3.x", "^3.1 || ^1.5 || ^5"], ">=1.5.0 <2.0.0 || >=3.1.0 <4.0.0"),
        (["*", "^1.2.3-beta.1"], ">=1.2.3 <2.0.0"),
        (
            [">=1.2.3-beta.1 <1.2.3", "1.2.3-beta.4 || 1.2.3-rc.1"],
            "1.2.3-beta.4 || 1.2.3-rc.1",
        ),
        (
            [">=0.0.0-a || 1.2.3-rc", ">=0.0.0-b || 1.2.3-rc.1"],
            "0.0.0 || >0.0.0 || >=0.0.0-b <0.0.0",
        ),
    ],
)
def test_intersect_folds_ranges_into_one(specs, merged):
    assert npm.intersect(specs) == merged


def test_intersect_drops_a_tag_beside_ranges():
    assert npm.intersect(["latest", "^2"]) == "^2"
    assert npm.intersect(["^1.2", "next", "~1.4"]) == "~1.4"


def test_intersect_refuses_a_clash_and_different_tags():
    with pytest.raises(ConflictError) as caught:
        npm.intersect(["^1", "latest", "^2"])
    assert caught.value.message == "No npm version satisfies all of '^1', '^2'."

    with pytest.raises(InvalidSpecError) as caught:
        npm.intersect(["latest", "next"])
    assert caught.value.message == (
        "npm dist-tags 'latest', 'next' name different versions: declare one of them."
    )


# --- Against node-semver -----------------------------------------------------

# Ranges that exercise every form of the grammar and node-semver's quirks.
GRAMMAR_RANGES = [
    "*",
    "x",
    "X",
    "x.x",
    "X.x.X",
    "v*",
    "vx",
    "1",
    "1.x",
    "1.X.x",
    "1.*",
    "1.2",
    "1.2.x",
    "1.2.*",
    "1.2.3",
    "v1.2.3",
    "=1.2.3",
    "=v1.2.3",
    "= 1.2.3",
    "1.2.3+b.1",
    "1.2.3-beta",
    "1.2.3-beta.2",
    "1.2.3-0",
    "1.2.3-rc.1+build",
    "0.0.0",
    ">1",
    ">1.2",
    ">1.2.3",
    ">1.2.3-beta",
    ">=1",
    ">=1.2",
    ">=1.2.3",
    ">= 1.2.3",
    ">=1.2.3-beta.1",
    "<1",
    "<1.2",
    "<1.2.3",
    "<1.2.3-beta",
    "<=1",
    "<=1.2",
    "<=1.2.3",
    "<=1.2.3-rc.1",
    "<x",
    ">x",
    ">=x",
    "<=*",
    "=x",
    ">*",
    "<0.0.0-0",
    ">=0.0.0",
    ">=0.0.0-0",
    ">=0",
    ">=0.0",
    ">=v0.0.0",
    ">=v0.0.0 <=0.0.0-beta",
    ">=0.0.0 <=0.0.0-beta",
    "0.0.x <=0.0.0-rc",
    "0 <=0.0.0-rc",
    "^1",
    "^1.x",
    "^1.2",
    "^1.2.x",
    "^1.2.3",
    "^ 1.2.3",
    "^v1.2.3",
    "^1.2.3-beta.1",
    "^0",
    "^0.x",
    "^0.0",
    "^0.0.x",
    "^0.0.0",
    "^0.1",
    "^0.1.2",
    "^0.1.2-rc",
    "^0.0.3",
    "^0.0.3-beta",
    "^x",
    "^*",
    "~1",
    "~1.x",
    "~1.2",
    "~1.2.3",
    "~ 1.2.3",
    "~>1.2",
    "~> 1.2.3",
    "~1.2.3-beta.2",
    "~0.0.1",
    "~x",
    "~0",
    "1.2.3 - 2.3.4",
    "1.2 - 2.3.4",
    "1.2.3 - 2.3",
    "1.2.3 - 2",
    "* - 2",
    "1 - *",
    "x - x",
    "v1.2.3 - v2.3.4",
    "1.2.3-beta - 2.3.4-rc.1",
    "1.2.3-beta - 2",
    "0.0.0 - 0.0.0",
    "v0.0.0 - 1",
    "1.2.3 - 2.3.4+b",
    ">=1.2.3 <2",
    ">= 1.2.3 < 2",
    ">=1.2.3  <2.0.0",
    ">1 <1",
    ">=1.2.3 <=1.2.3",
    ">=1.2.3-alpha <1.2.3",
    ">1.2.3-alpha <1.2.3-beta",
    "1.x || 3.x",
    "1.x||3.x",
    "1.x ||3.x",
    "^1.0.0 || ^2.0.0 || ^3.0.0",
    "* || ^1.2.3-beta.1",
    "^1.2.3-beta.1 || *",
    "<0.0.0-0 || 1.x",
    ">x || <x",
    "1.2.3-beta.1 || 1.2.4-rc",
    "<=1.2.3-beta || >=2",
    "~1.2.3 || 1.2.3 - 1.2.9",
    ">=1.0.0-rc.1 <1.0.0 || >=2.0.0-rc.1 <2.0.0",
    "=1.2.3 >=1.2.3",
    "1.2.3 1.2.4",
    ">=1.2.3-beta.2 >=1.2.3-beta.1",
    "v0.0.0 - 0.0.0-rc",
    "0.0.0 - 0.0.0-rc",
    "<1.2 >=1.2.0-alpha",
    "<1 >=1.0.0-0",
    "<=1.1 >=1.2.0-alpha",
    ">1.1 <1.2.0-beta",
    "^1.2.0-rc.1 <1.2",
    "<2.0.0-0 <2.0.0",
    "^1.2.3 ~1.2",
]

REFUSED_THOUGH_NPM_READS_THEM = [
    "01.2.3",  # leading zeros, read loosely by npm
    "1.2.x-beta",  # the pre-release is silently dropped by npm
    "^1.x.2",  # npm ignores what follows the wildcard
    "1 ||",  # npm reads the empty alternative as "*"
    "> = 1",
    "^=1.2.3",
    "~ >1",
    "=1.2.3 - 2",  # only when npm reads it loosely
    "1.2+build",
]


def version_universe():
    triples = [
        (major, minor, patch)
        for major in (0, 1, 2, 3)
        for minor in (0, 1, 2, 3, 4, 9)
        for patch in (0, 1, 2, 3, 4, 9)
    ] + [(10, 0, 0), (99, 99, 99)]
    tags = [
        "",
        "-0",
        "-1",
        "-alpha",
        "-alpha.1",
        "-beta",
        "-beta.0",
        "-beta.1",
        "-beta.2",
        "-beta.3",
        "-rc",
        "-rc.1",
        "-rc.2",
        "-zeta",
    ]
    return [f"{a}.{b}.{c}{tag}" for a, b, c in triples for tag in tags]


def test_satisfies_agrees_with_node_semver(oracle):
    universe = version_universe()
    ours = [
        "".join("1" if npm.satisfies(v, spec) else "0" for v in universe)
        for spec in GRAMMAR_RANGES
    ]

    strict = oracle.ask("matrix", ranges=GRAMMAR_RANGES, versions=universe, loose=False)
    loose = oracle.ask("matrix", ranges=GRAMMAR_RANGES, versions=universe, loose=True)

    for spec, mine, theirs_strict, theirs_loose in zip(
        GRAMMAR_RANGES, ours, strict, loose, strict=True
    ):
        assert theirs_strict is not None, f"node-semver refuses {spec!r}"
        disagree = [v for v, a, b in zip(universe, mine, theirs_strict) if a != b]
        assert disagree == [], f"{spec!r} disagrees with node-semver on {disagree[:5]}"
        assert theirs_loose == theirs_strict, f"{spec!r} reads differently when loose"


def test_version_strings_are_read_as_node_semver_reads_them(oracle):
    versions = [
        "1.2.3",
        " 1.2.3 ",
        "v1.2.3",
        "1.2.3+b",
        "1.2.3-beta+b",
        "=1.2.3",
        "01.2.3",
        "1.2",
        "1.2.3-01",
        "1.2.3-",
        "1.2.3.4",
        "9007199254740991.0.0",
        "9007199254740992.0.0",
        "1.2.3-x.9007199254740991",
        "",
    ]
    ranges = ["*", "1.2.3", "^1.2.3-beta", ">=9007199254740990.0.0"]

    theirs = oracle.ask("matrix", ranges=ranges, versions=versions, loose=False)

    for spec, row in zip(ranges, theirs, strict=True):
        mine = "".join("1" if npm.satisfies(v, spec) else "0" for v in versions)
        assert mine == row, spec


@pytest.mark.parametrize("spec", REFUSED_THOUGH_NPM_READS_THEM)
def test_ambiguous_forms_npm_reads_loosely_are_refused(spec):
    with pytest.raises(InvalidSpecError):
        npm.parse_dependency("lodash", spec, source="acme/x")


def test_accepted_names_are_valid_npm_package_names(oracle):
    names = [
        "lodash",
        "@types/node",
        "a",
        "a-b_c.d",
        "0x",
        "@scope/_private",
        "events",
        "Lodash",
        ".x",
        "_x",
        "node_modules",
        "favicon.ico",
        "a b",
        "a~b",
        "a(b)",
        "@a",
        "@a/",
        "@/b",
        "@a/b/c",
        "a/b",
        "ä",
        "a" * 214,
        "a" * 215,
        "@a/.b",
    ]

    theirs = oracle.ask("names", names=names)

    for name, verdict in zip(names, theirs, strict=True):
        accepted = npm._name_problem(name) is None
        core_module = verdict["warnings"] and all(
            "core module" in warning for warning in verdict["warnings"]
        )
        assert accepted == bool(verdict["newOk"] or core_module), name


# Generated ranges over a small grammar, for brute force against node-semver.

NUMBERS = (0, 1, 2)
PRERELEASES = ("-0", "-1", "-alpha", "-alpha.1", "-beta", "-beta.2", "-rc.1")


def draw_partial(pick):
    major, minor, patch = pick(NUMBERS), pick(NUMBERS), pick(NUMBERS)
    shape = pick(("full", "full", "pre", "pre", "pre", "minor", "major", "xpatch", "x"))
    if shape in ("full", "pre"):
        text = f"{major}.{minor}.{patch}"
        if shape == "pre":
            text += pick(PRERELEASES)
        return text + pick(("", "", "", "", "+build.1"))
    return {
        "minor": f"{major}.{minor}",
        "major": f"{major}",
        "xpatch": f"{major}.{minor}.{pick(('x', 'X', '*'))}",
        "x": pick(("x", "*", "X", f"{major}.x")),
    }[shape]


def rough_order(partial):
    main = partial.split("-")[0].split("+")[0].split(".")
    return [int(part) if part.isdigit() else 0 for part in main]


def draw_bounds(pick):
    """Return two partials, the lower one first, so most alternatives admit some."""
    return sorted((draw_partial(pick), draw_partial(pick)), key=rough_order)


def draw_comparator(pick, operators=("", "", "<", "<=", ">", ">=", "=", "^", "~")):
    return dress(pick, pick(operators), draw_partial(pick))


def dress(pick, operator, partial):
    if operator == "~":
        operator = pick(("~", "~>"))
    space = pick(("", "", "", " ")) if operator else ""
    return operator + space + pick(("", "", "", "v")) + partial


def draw_alternative(pick):
    form = pick(("hyphen", "one", "one", "bounds", "bounds", "two", "tied"))
    if form == "hyphen":
        low, high = draw_bounds(pick)
        return f"{pick(('', 'v'))}{low} - {high}"
    if form == "one":
        return draw_comparator(pick)
    if form == "bounds":
        low, high = draw_bounds(pick)
        return (
            dress(pick, pick((">", ">=", ">=", "^", "~")), low)
            + pick((" ", "  "))
            + dress(pick, pick(("<", "<=", "<=")), high)
        )
    if form == "tied":
        # Two comparators on one major.minor.patch: ties between bounds, the
        # "-0" ends of x-ranges and the pre-release rule meet here.
        major, minor, patch = pick(NUMBERS), pick(NUMBERS), pick(NUMBERS)
        forms = (
            f"{major}.{minor}.{patch}",
            f"{major}.{minor}.{patch}{pick(PRERELEASES)}",
            f"{major}.{minor}.{patch}{pick(PRERELEASES)}",
            f"{major}.{minor}",
            f"{major}",
        )
        operators = ("", "<", "<=", ">", ">=")
        return " ".join(dress(pick, pick(operators), pick(forms)) for _ in range(2))
    return draw_comparator(pick) + " " + draw_comparator(pick)


def draw_range(pick):
    count = pick((1, 1, 1, 2, 2, 3))
    return pick((" || ", "||", " ||")).join(
        draw_alternative(pick) for _ in range(count)
    )


def draw_case(pick):
    return [draw_range(pick) for _ in range(pick((1, 2, 2, 3, 3, 4)))]


def universe_for(specs):
    """Return every version the specs mention, their neighbours and pre-releases."""
    triples = {(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (9, 9, 9)}
    tags = {
        "0",
        "1",
        "alpha",
        "alpha.0",
        "alpha.1",
        "alpha.2",
        "beta",
        "beta.1",
        "beta.2",
        "beta.3",
        "rc",
        "rc.1",
        "rc.2",
        "zzz",
    }
    for spec in specs:
        for word in spec.replace("||", " ").replace("^", " ").replace("~", " ").split():
            word = word.lstrip("<>=v").split("+")[0]
            if not word or not word[0].isdigit():
                continue
            main, _, pre = word.partition("-")
            if pre:
                tags.update({pre, pre + ".0", pre + ".1"})
            parts = [int(p) if p.isdigit() else 0 for p in main.split(".")]
            parts += [0] * (3 - len(parts))
            major, minor, patch = parts
            triples.update(
                {
                    (major, minor, patch),
                    (major, minor, patch + 1),
                    (major, minor, max(patch - 1, 0)),
                    (major, minor + 1, 0),
                    (major, max(minor - 1, 0), 9),
                    (major + 1, 0, 0),
                    (max(major - 1, 0), 9, 9),
                }
            )
    return [
        f"{a}.{b}.{c}{'-' + tag if tag else ''}"
        for a, b, c in sorted(triples)
        for tag in sorted(tags | {""})
    ]


def check_cases(oracle, cases):
    """Check is_satisfiable, find_clash and intersect on each case against node."""
    brute, holds, same, expected = [], [], [], []
    for specs in cases:
        universe = universe_for(specs)
        witness = npm._witness(specs)
        brute.append({"ranges": specs, "universe": universe})
        expected.append(witness is not None)
        if witness is not None:
            assert npm.find_clash(specs) is None
            holds.append({"version": witness, "ranges": specs})
            same.append(
                {"merged": npm.intersect(specs), "ranges": specs, "universe": universe}
            )
            continue

        clash = npm.find_clash(specs)
        chosen = [specs[i] for i in clash]
        assert not npm.is_satisfiable(chosen), (specs, clash)
        for left, right in itertools.combinations(range(len(specs)), 2):
            if len(clash) > 2:
                assert npm.is_satisfiable([specs[left], specs[right]]), (specs, clash)
        for index in range(len(chosen)):
            rest = chosen[:index] + chosen[index + 1 :]
            witness = npm._witness(rest)
            assert witness is not None, (specs, clash)
            holds.append({"version": witness, "ranges": rest})

    answer = oracle.ask("check", brute=brute, holds=holds, same=same)

    for case, found, ours in zip(brute, answer["brute"], expected, strict=True):
        assert found is not None, f"node-semver refuses one of {case['ranges']}"
        # Brute force found a version: we must find one too.
        assert ours or not found, f"{case['ranges']} are satisfiable in node-semver"
    for check, ok in zip(holds, answer["holds"], strict=True):
        assert ok, f"witness {check['version']} misses one of {check['ranges']}"
    for check, ok in zip(same, answer["same"], strict=True):
        assert ok, f"{check['merged']!r} is not the intersection of {check['ranges']}"


def test_generated_range_sets_agree_with_node_semver(oracle):
    rng = random.Random(20240611)
    cases = [draw_case(rng.choice) for _ in range(2000)]

    check_cases(oracle, cases)

    # The sample must hold both answers in good number to mean anything.
    satisfiable = sum(npm.is_satisfiable(specs) for specs in cases)
    assert 300 < satisfiable < 1700


@st.composite
def range_sets(draw):
    return draw_case(lambda options: draw(st.sampled_from(options)))


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(specs=range_sets())
def test_range_sets_agree_with_node_semver(oracle, specs):
    check_cases(oracle, [specs])
