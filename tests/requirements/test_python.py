import functools
import itertools

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from installs.exceptions import InvalidSpecError
from installs.requirements.python import (
    PythonRequirement,
    _witness,
    applies,
    find_clash,
    is_satisfiable,
    parse_constraints,
    parse_requirement,
    parse_requirements,
    target_environment,
)

SKILL = "acme/x"


def rejection(entry, reason):
    return f"Skill 'acme/x': invalid Python requirement {entry}: {reason}."


# Parsing: what is refused, and why.


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        # pip options, alone or after a spec
        (
            "--index-url https://evil.example/simple",
            rejection(
                "'--index-url https://evil.example/simple'",
                "pip options are not allowed",
            ),
        ),
        (
            "--extra-index-url https://evil.example/simple",
            rejection(
                "'--extra-index-url https://evil.example/simple'",
                "pip options are not allowed",
            ),
        ),
        ("-e .", rejection("'-e .'", "pip options are not allowed")),
        ("-r other.txt", rejection("'-r other.txt'", "pip options are not allowed")),
        ("-c pins.txt", rejection("'-c pins.txt'", "pip options are not allowed")),
        (
            "foo --hash=sha256:abcd",
            rejection("'foo --hash=sha256:abcd'", "pip options are not allowed"),
        ),
        (
            "foo>=1.0 --no-deps",
            rejection("'foo>=1.0 --no-deps'", "pip options are not allowed"),
        ),
        # direct references, URLs, paths, archives
        (
            "foo @ https://example.com/foo-1.0.whl",
            rejection(
                "'foo @ https://example.com/foo-1.0.whl'",
                "direct references ('name @ ...') are not allowed",
            ),
        ),
        (
            "foo @ file:///tmp/foo",
            rejection(
                "'foo @ file:///tmp/foo'",
                "direct references ('name @ ...') are not allowed",
            ),
        ),
        (
            "foo[bar]@git+https://example.com/foo.git",
            rejection(
                "'foo[bar]@git+https://example.com/foo.git'",
                "direct references ('name @ ...') are not allowed",
            ),
        ),
        (
            "https://example.com/foo-1.0.tar.gz",
            rejection("'https://example.com/foo-1.0.tar.gz'", "URLs are not allowed"),
        ),
        (
            "git+https://example.com/foo.git",
            rejection("'git+https://example.com/foo.git'", "URLs are not allowed"),
        ),
        ("./pkg", rejection("'./pkg'", "local paths are not allowed")),
        ("../pkg", rejection("'../pkg'", "local paths are not allowed")),
        ("/abs/path", rejection("'/abs/path'", "local paths are not allowed")),
        ("~/pkg", rejection("'~/pkg'", "local paths are not allowed")),
        ("pkgs/foo", rejection("'pkgs/foo'", "local paths are not allowed")),
        (
            "C:\\pkgs\\foo",
            rejection("'C:\\\\pkgs\\\\foo'", "local paths are not allowed"),
        ),
        ("pkg.whl", rejection("'pkg.whl'", "archive files are not allowed")),
        ("pkg.tar.gz", rejection("'pkg.tar.gz'", "archive files are not allowed")),
        (
            "foo-1.0-py3-none-any.whl",
            rejection("'foo-1.0-py3-none-any.whl'", "archive files are not allowed"),
        ),
        # operators, versions, names, extras, markers
        ("numpy>>1.0", rejection("'numpy>>1.0'", "invalid operator '>>'")),
        ("numpy=1.0", rejection("'numpy=1.0'", "invalid operator '='")),
        ("numpy=>1.0", rejection("'numpy=>1.0'", "invalid operator '=>'")),
        ("numpy==", rejection("'numpy=='", "missing version after '=='")),
        ("foo==1.0.0.x", rejection("'foo==1.0.0.x'", "invalid version '1.0.0.x'")),
        (
            "foo>=1.0,<two",
            rejection("'foo>=1.0,<two'", "invalid version 'two'"),
        ),
        (
            "foo > /tmp/out",
            rejection("'foo > /tmp/out'", "invalid version '/tmp/out'"),
        ),
        (
            "foo>=1.*",
            rejection(
                "'foo>=1.*'", "wildcard '1.*' needs '==' or '!=' and a plain release"
            ),
        ),
        (
            "foo==1.0a1.*",
            rejection(
                "'foo==1.0a1.*'",
                "wildcard '1.0a1.*' needs '==' or '!=' and a plain release",
            ),
        ),
        (
            "foo<=1.0+cpu",
            rejection("'foo<=1.0+cpu'", "local version '1.0+cpu' needs '==' or '!='"),
        ),
        (
            "foo~=1",
            rejection("'foo~=1'", "'~=' needs at least two release segments, got '1'"),
        ),
        (
            "num py",
            rejection("'num py'", "unexpected 'py' after the project name"),
        ),
        (
            "foo 1.0",
            rejection("'foo 1.0'", "unexpected '1.0' after the project name"),
        ),
        ("_foo", rejection("'_foo'", "invalid project name")),
        ("foo_", rejection("'foo_'", "invalid project name")),
        ("foo*", rejection("'foo*'", "invalid project name")),
        ("foo[bar", rejection("'foo[bar'", "invalid extras")),
        ("foo[b ar]", rejection("'foo[b ar]'", "invalid extras")),
        ("foo (>=1.0", rejection("'foo (>=1.0'", "unbalanced parenthesis")),
        (
            "foo; rm -rf /",
            rejection("'foo; rm -rf /'", "invalid environment marker 'rm -rf /'"),
        ),
        (
            'foo; sys_platform = "linux"',
            rejection(
                "'foo; sys_platform = \"linux\"'",
                "invalid environment marker 'sys_platform = \"linux\"'",
            ),
        ),
        ("foo;", rejection("'foo;'", "missing environment marker after ';'")),
        # shell metacharacters and characters that change a requirements file
        (
            "foo | cat",
            rejection("'foo | cat'", "shell metacharacter '|' is not allowed"),
        ),
        (
            "foo && rm -rf /",
            rejection("'foo && rm -rf /'", "shell metacharacter '&' is not allowed"),
        ),
        (
            "foo$(whoami)",
            rejection("'foo$(whoami)'", "shell metacharacter '$' is not allowed"),
        ),
        (
            "foo==${VERSION}",
            rejection("'foo==${VERSION}'", "shell metacharacter '$' is not allowed"),
        ),
        ("foo`id`", rejection("'foo`id`'", "shell metacharacter '`' is not allowed")),
        (
            'foo; os_name == "a\\b"',
            rejection(
                "'foo; os_name == \"a\\\\b\"'",
                "shell metacharacter '\\\\' is not allowed",
            ),
        ),
        (
            'pywin32; sys_platform == "win32" | true',
            rejection(
                "'pywin32; sys_platform == \"win32\" | true'",
                "shell metacharacter '|' is not allowed",
            ),
        ),
        (
            "foo # pinned",
            rejection("'foo # pinned'", "'#' is not allowed in a requirement"),
        ),
        ("foo\nbar", rejection("'foo\\nbar'", "line breaks are not allowed")),
        ("foo\r\n-e .", rejection("'foo\\r\\n-e .'", "line breaks are not allowed")),
        ("foo\x00", rejection("'foo\\x00'", "control characters are not allowed")),
        ("foo\t>=1", rejection("'foo\\t>=1'", "control characters are not allowed")),
        # empty and non-string entries
        ("", rejection("''", "empty requirement")),
        ("   ", rejection("'   '", "empty requirement")),
        (42, rejection("42", "expected a string, got int")),
        (None, rejection("None", "expected a string, got NoneType")),
        (["numpy"], rejection("['numpy']", "expected a string, got list")),
    ],
)
def test_refused_requirement_is_named_with_its_reason(entry, message):
    with pytest.raises(InvalidSpecError) as caught:
        parse_requirement(entry, source=SKILL)

    assert caught.value.message == message
    assert str(caught.value) == message
    assert caught.value.code == "invalid_spec"
    assert caught.value.details["source"] == SKILL


def test_error_details_carry_source_entry_and_reason():
    with pytest.raises(InvalidSpecError) as caught:
        parse_requirement("numpy>>1.0", source=SKILL)

    assert caught.value.details == {
        "source": SKILL,
        "entry": "numpy>>1.0",
        "reason": "invalid operator '>>'",
    }


def test_entry_longer_than_the_limit_is_refused_and_shown_shortened():
    entry = "a" * 501

    with pytest.raises(InvalidSpecError) as caught:
        parse_requirement(entry, source=SKILL)

    assert caught.value.message == rejection(
        "'" + "a" * 57 + "...'", "longer than 500 characters"
    )


def test_length_limit_follows_the_setting(settings):
    settings.SKILLINSTALL_MAX_SPEC_LENGTH = 10
    assert parse_requirement("numpy>=1.0", source=SKILL).name == "numpy"

    with pytest.raises(InvalidSpecError) as caught:
        parse_requirement("numpy>=1.20", source=SKILL)

    assert caught.value.message == rejection(
        "'numpy>=1.20'", "longer than 10 characters"
    )


def test_source_that_is_not_a_skill_id_is_named_as_given():
    with pytest.raises(InvalidSpecError) as caught:
        parse_requirement("-e .", source="platform constraints")

    assert caught.value.message == (
        "Platform constraints: invalid Python requirement '-e .': "
        "pip options are not allowed."
    )


# Parsing: what is accepted.


@pytest.mark.parametrize(
    ("entry", "name", "specifier", "extras", "marker"),
    [
        ("requests[socks]>=2", "requests", ">=2", {"socks"}, None),
        ("requests[Socks,USE_chardet]", "requests", "", {"socks", "use-chardet"}, None),
        (
            'pywin32>=300; sys_platform == "win32"',
            "pywin32",
            ">=300",
            set(),
            'sys_platform == "win32"',
        ),
        (
            "numpy>=1.20;python_version>='3.9'",
            "numpy",
            ">=1.20",
            set(),
            'python_version >= "3.9"',
        ),
        ("PyYAML==6.0.1", "pyyaml", "==6.0.1", set(), None),
        ("zope.interface", "zope-interface", "", set(), None),
        ("Foo_Bar.baz", "foo-bar-baz", "", set(), None),
        ("numpy (>=1.0,<2)", "numpy", "<2,>=1.0", set(), None),
        ("foo==1.0", "foo", "==1.0", set(), None),
        ("foo!=1.0", "foo", "!=1.0", set(), None),
        ("foo~=1.4.2", "foo", "~=1.4.2", set(), None),
        ("foo<2", "foo", "<2", set(), None),
        ("foo<=2", "foo", "<=2", set(), None),
        ("foo>1", "foo", ">1", set(), None),
        ("foo===2004d", "foo", "===2004d", set(), None),
        ("foo==1.*", "foo", "==1.*", set(), None),
        ("foo!=1.2.*", "foo", "!=1.2.*", set(), None),
        ("foo==1!2.0", "foo", "==1!2.0", set(), None),
        ("foo>=1.0a1", "foo", ">=1.0a1", set(), None),
        ("foo==1.0rc2.post1.dev3", "foo", "==1.0rc2.post1.dev3", set(), None),
        ("foo==1.0+cpu", "foo", "==1.0+cpu", set(), None),
        ("torch!=2.0+cu118", "torch", "!=2.0+cu118", set(), None),
    ],
)
def test_accepted_requirement_is_parsed(entry, name, specifier, extras, marker):
    requirement = parse_requirement(entry, source=SKILL)

    assert requirement.name == name
    assert requirement.text == entry
    assert requirement.specifier == SpecifierSet(specifier)
    assert requirement.extras == frozenset(extras)
    assert (None if requirement.marker is None else str(requirement.marker)) == marker
    assert requirement.source == SKILL


def test_declared_text_is_kept_stripped():
    requirement = parse_requirement("  numpy >= 1.20  ", source=SKILL)

    assert requirement == PythonRequirement(
        name="numpy",
        text="numpy >= 1.20",
        specifier=SpecifierSet(">=1.20"),
        extras=frozenset(),
        marker=None,
        source=SKILL,
    )


def test_list_of_requirements_is_parsed_in_order():
    requirements = parse_requirements(["numpy>=1.20", "PyYAML"], source=SKILL)

    assert [r.name for r in requirements] == ["numpy", "pyyaml"]
    assert parse_requirements([], source=SKILL) == []


def test_list_reports_its_first_bad_entry():
    with pytest.raises(InvalidSpecError) as caught:
        parse_requirements(["numpy", "bad>>1", "-e ."], source=SKILL)

    assert caught.value.message == rejection("'bad>>1'", "invalid operator '>>'")


@pytest.mark.parametrize(
    ("entries", "kind"),
    [("numpy>=1", "str"), ({"numpy": ">=1"}, "dict"), (None, "NoneType")],
)
def test_requirements_that_are_not_a_list_are_refused(entries, kind):
    with pytest.raises(InvalidSpecError) as caught:
        parse_requirements(entries, source=SKILL)

    assert caught.value.message == (
        f"Skill 'acme/x': Python requirements must be a list of strings, got {kind}."
    )


def test_too_many_requirements_are_refused(settings):
    settings.SKILLINSTALL_MAX_DEPENDENCIES = 2
    assert len(parse_requirements(["a", "b"], source=SKILL)) == 2

    with pytest.raises(InvalidSpecError) as caught:
        parse_requirements(["a", "b", "c"], source=SKILL)

    assert caught.value.message == (
        "Skill 'acme/x': too many Python requirements (3); at most 2 are allowed."
    )


# Constraints files.


def test_constraints_allow_blank_lines_and_comments():
    body = (
        "# platform pins\n"
        "\n"
        "numpy==1.26.4   # keep in step with the base image\n"
        "   \n"
        'pywin32>=300; sys_platform == "win32"\n'
        "urllib3<3#not-a-comment-without-space\n"
    )

    with pytest.raises(InvalidSpecError) as caught:
        parse_constraints(body, source="platform constraints")

    assert caught.value.message == (
        "Platform constraints: invalid Python requirement "
        "'urllib3<3#not-a-comment-without-space' on line 6: "
        "'#' is not allowed in a requirement."
    )
    assert caught.value.details["line"] == 6

    constraints = parse_constraints(
        body.replace("#not-a-comment", " # a comment"), source="platform constraints"
    )
    assert [(c.name, str(c.specifier)) for c in constraints] == [
        ("numpy", "==1.26.4"),
        ("pywin32", ">=300"),
        ("urllib3", "<3"),
    ]
    assert constraints[0].text == "numpy==1.26.4"
    assert {c.source for c in constraints} == {"platform constraints"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("--index-url https://evil.example/simple", "pip options are not allowed"),
        ("-c other.txt", "pip options are not allowed"),
        ("-r base.txt", "pip options are not allowed"),
        ("requests[socks]==2.31.0", "constraints cannot have extras"),
        ("numpy>>1", "invalid operator '>>'"),
    ],
)
def test_constraints_refuse_options_and_name_the_line(line, reason):
    body = f"numpy==1.26.4\n# pins\n{line}\n"

    with pytest.raises(InvalidSpecError) as caught:
        parse_constraints(body, source="platform constraints")

    assert caught.value.message == (
        f"Platform constraints: invalid Python requirement {line!r} on line 3: "
        f"{reason}."
    )


def test_empty_constraints_file_has_no_constraints():
    assert parse_constraints("", source="platform constraints") == []
    assert parse_constraints("# nothing\n\n", source="platform constraints") == []


# Target environment and markers.


def test_target_environment_defaults_to_the_settings(settings):
    settings.SKILLINSTALL_TARGET_PYTHON = "3.11"
    settings.SKILLINSTALL_TARGET_PLATFORM = "linux"

    assert target_environment() == {
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "python_version": "3.11",
        "python_full_version": "3.11.0",
        "implementation_name": "cpython",
        "implementation_version": "3.11.0",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
    }


def test_target_environment_follows_changed_settings(settings):
    settings.SKILLINSTALL_TARGET_PYTHON = "3.12.4"
    settings.SKILLINSTALL_TARGET_PLATFORM = "windows"

    environment = target_environment()

    assert environment["python_version"] == "3.12"
    assert environment["python_full_version"] == "3.12.4"
    assert environment["sys_platform"] == "win32"


@pytest.mark.parametrize(
    ("platform", "os_name", "sys_platform", "platform_system"),
    [
        ("linux", "posix", "linux", "Linux"),
        ("macos", "posix", "darwin", "Darwin"),
        ("darwin", "posix", "darwin", "Darwin"),
        ("windows", "nt", "win32", "Windows"),
        ("win32", "nt", "win32", "Windows"),
        ("Windows", "nt", "win32", "Windows"),
    ],
)
def test_target_platform_names_set_the_platform_markers(
    platform, os_name, sys_platform, platform_system
):
    environment = target_environment(platform=platform)

    assert environment["os_name"] == os_name
    assert environment["sys_platform"] == sys_platform
    assert environment["platform_system"] == platform_system


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"platform": "beos"},
            "Unknown target platform 'beos': choose one of linux, macos, windows.",
        ),
        (
            {"python_version": "three"},
            "Unknown target Python 'three': use a version such as '3.11' or '3.11.4'.",
        ),
        (
            {"python_version": "3"},
            "Unknown target Python '3': use a version such as '3.11' or '3.11.4'.",
        ),
    ],
)
def test_unknown_target_is_refused(arguments, message):
    with pytest.raises(ValueError) as caught:
        target_environment(**arguments)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("entry", "python_version", "platform", "expected"),
    [
        ('pywin32>=300; sys_platform == "win32"', "3.11", "linux", False),
        ('pywin32>=300; sys_platform == "win32"', "3.11", "windows", True),
        ('pywin32>=300; sys_platform == "win32"', "3.11", "win32", True),
        ('appnope; sys_platform == "darwin"', "3.11", "macos", True),
        ('appnope; sys_platform == "darwin"', "3.11", "linux", False),
        ('tomli; python_version < "3.11"', "3.11", "linux", False),
        ('tomli; python_version < "3.11"', "3.8", "linux", True),
        ('backports.zoneinfo; python_version < "3.9"', "3.8", "linux", True),
        ('exceptiongroup; python_full_version < "3.11.0"', "3.11", "linux", False),
        ('exceptiongroup; python_full_version >= "3.11.4"', "3.11.4", "linux", True),
        ('uvloop; platform_system != "Windows"', "3.11", "linux", True),
        ('uvloop; platform_system != "Windows"', "3.11", "windows", False),
        ('colorama; os_name == "nt"', "3.11", "windows", True),
        ('pytest; extra == "test"', "3.11", "linux", False),
        ('pytest; extra != "test"', "3.11", "linux", True),
        ('cffi; implementation_name == "cpython"', "3.11", "linux", True),
        ('cffi; platform_python_implementation == "PyPy"', "3.11", "linux", False),
        (
            'pyobjc; sys_platform == "darwin" and python_version >= "3.9"',
            "3.8",
            "macos",
            False,
        ),
        ("numpy>=1.20", "3.8", "windows", True),
    ],
)
def test_marker_decides_whether_a_requirement_applies(
    entry, python_version, platform, expected
):
    requirement = parse_requirement(entry, source=SKILL)
    environment = target_environment(python_version=python_version, platform=platform)

    assert applies(requirement, environment) is expected


def test_marker_that_cannot_be_evaluated_is_refused():
    requirement = parse_requirement('foo; python_version ~= "3"', source=SKILL)

    with pytest.raises(InvalidSpecError) as caught:
        applies(requirement, target_environment(python_version="3.11"))

    assert caught.value.message == (
        "Skill 'acme/x': cannot evaluate the marker of Python requirement "
        "'foo; python_version ~= \"3\"' for the target: "
        "Undefined <Op('~=')> on '3.11' and '3'."
    )


def test_marker_ignores_the_host_environment():
    requirement = PythonRequirement(
        name="foo",
        text='foo; platform_machine == "arm64"',
        specifier=SpecifierSet(),
        extras=frozenset(),
        marker=Marker('platform_machine == "arm64"'),
        source=SKILL,
    )

    assert applies(requirement, target_environment(platform="macos")) is True
    assert applies(requirement, target_environment(platform="linux")) is False


# Clashes: worked examples.


@pytest.mark.parametrize(
    ("specifiers", "clash"),
    [
        ([">=1.20", "<2"], None),
        (["==1.21.0", "==1.24.0"], (0, 1)),
        (["~=1.4.2", "==1.5.0"], (0, 1)),
        (["~=1.4.2", "==1.4.9"], None),
        (["==1.0", "==1.0.0"], None),
        ([">=1.0,<1.0.post1"], None),  # 1.0 itself; <1.0.post1 stops at .post1.dev0
        ([">=1.0.post1,<1.0.post1"], (0,)),
        ([">1.7", "<=1.7.post1"], (0, 1)),  # >1.7 skips every 1.7.postN
        ([">1.7", "<1.7.0.1"], None),  # 1.7.0.0.1 lies between
        ([">1.7.post1", "<=1.7.post2"], None),  # 1.7.post2.dev0
        ([">1.7.post1", "<1.7.post2"], (0, 1)),  # <1.7.post2 refuses its .dev
        ([">1.7a1", "<1.7a2"], None),  # 1.7a2.dev0
        ([">1.7a1", "<1.7a2.dev0"], (0, 1)),
        ([">1.7.dev1", "<1.7.dev2"], (0, 1)),
        ([">1.7.dev1", "<=1.7.dev2"], None),
        ([">=1.0", "!=1.0", "<1.0.post0.dev1"], None),  # only 1.0.post0.dev0
        ([">=1.0", "!=1.0", "<1.0.post0.dev0"], (0, 1, 2)),
        (["<1.7", ">=1.7rc1"], (0, 1)),  # <1.7 excludes 1.7's pre-releases
        (["<1.7", ">=1.7.dev0"], (0, 1)),
        (["<1.7rc1", ">=1.7b2"], None),
        (["<1.7.post1", ">=1.7.post1.dev0"], (0, 1)),
        (["<1.7.post1", ">=1.7.post0"], None),
        ([">=2.0b1", "<2.0"], (0, 1)),
        (["<0"], (0,)),  # nothing sorts below 0.dev0
        (["<0.dev0"], (0,)),
        (["<=0.dev0", ">0.dev0"], (0, 1)),
        (["==1.*", ">=1.9"], None),
        (["==1.*", ">=2"], (0, 1)),
        (["==1.*", "==1.0.dev0"], None),  # ==1.* starts at 1.dev0
        (["!=1.*", "==1.5"], (0, 1)),
        (["!=1.2.*", "~=1.2.0"], (0, 1)),
        (["!=1.2.*", "~=1.2"], None),
        (["==1.0", "!=1.0.0"], (0, 1)),
        (["==1.0+cpu", ">=1.0"], None),
        (["==1.0+cpu", "==1.0"], None),  # ==1.0 admits every local of 1.0
        (["==1.0+cpu", "!=1.0"], (0, 1)),  # and !=1.0 refuses them all
        (["==1.0+cpu", ">1.0"], (0, 1)),
        (["==1.0+cpu", "==1.0+cu118"], (0, 1)),
        (["!=1.0+cpu", "==1.0"], None),
        (["!=1.0+a", "!=1.0+a.0", ">=1.0", "<1.0.post0.dev0"], None),
        (["==1!1.0", ">=1.0"], None),
        (["==1!1.0", "<2"], (0, 1)),
        ([">=1!0", "<99"], (0, 1)),
        (["===1.0", "==1.0"], None),
        (["===1.0.0", "==1"], None),
        (["===Foo", "===foo"], None),
        (["===1.0", "===1.0.0"], (0, 1)),
        (["===foo", ">=1"], (0, 1)),
        (["===foo"], None),
        (["===1.0a1", ">=1.0a0"], None),
        (["===1.0a1", "<1.0"], (0, 1)),
        ([], None),
        (["", ""], None),
    ],
)
def test_clash_is_decided_exactly(specifiers, clash):
    assert find_clash(specifiers) == clash
    assert is_satisfiable(specifiers) is (clash is None)


def test_clash_between_canonicalised_names_is_found():
    first = parse_requirement("PyYAML==6.0.1", source="acme/a")
    second = parse_requirement("pyyaml>=3.11,<4", source="acme/b")

    assert first.name == second.name == "pyyaml"
    assert find_clash([first.specifier, second.specifier]) == (0, 1)


@pytest.mark.parametrize(
    ("specifiers", "clash"),
    [
        # a set that clashes alone is named alone
        ([">=1", ">=2,<1", "==3"], (1,)),
        # the first clashing pair, in the order given
        (["<1", ">=0.5", "==2", "==3"], (0, 2)),
        ([">=1", "<3", "==2.5", "!=2.5"], (2, 3)),
        # identical sets are checked once and named by their first index
        (["==1", ">=2", "==1", ">=2"], (0, 1)),
        ([SpecifierSet("==1"), "== 1", SpecifierSet(">=2")], (0, 2)),
        # empty sets accept everything and are never named
        (["", "==1", "", "==2"], (1, 3)),
        # no pair clashes, all three do
        ([">=1", "<2", "!=1.*"], (0, 1, 2)),
        (["==2", ">=1", "<2", "!=1.*"], (0, 2)),
        # a larger set that needs four members to clash
        ([">=1", "<3", "!=1.*", "!=2.*"], (0, 1, 2, 3)),
    ],
)
def test_clash_names_a_minimal_subset(specifiers, clash):
    assert find_clash(specifiers) == clash


def test_witness_really_satisfies_every_set():
    witness = _witness([">1.7", "<1.7.0.1"])

    assert isinstance(witness, Version)
    assert SpecifierSet(">1.7").contains(witness, prereleases=True)
    assert SpecifierSet("<1.7.0.1").contains(witness, prereleases=True)
    assert _witness(["===Foo", "===foo"]) == "Foo"
    assert _witness(["==1", "==2"]) is None


# Clashes: property tests against brute force and against packaging.

# The specs of one problem share a few base releases, so that they meet at
# the same boundaries often; drawn independently they would rarely touch.
BASES = ["0", "1", "1.1", "2", "1.0.1", "1!1"]
SUFFIXES = [
    *["a1", "b1", "rc1", ".post0", ".post1", ".dev0", ".dev1"],
    *["a1.dev0", "rc1.post0", ".post0.dev0", ".post1.dev1"],
]
LOCALS = ["a", "a.0", "a.a", "b", "1"]
ARBITRARY = ["1.0", "1", "1.0.0", "1.0a1", "1!1.0", "foo", "Foo", "2.0.post1"]


@st.composite
def clauses(draw, bases):
    release = draw(st.sampled_from(bases))
    if draw(st.booleans()):
        release += ".0"  # zero padding must not matter

    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(["==", "!="])) + release + ".*"
    if kind == 1:
        return "===" + draw(st.sampled_from(ARBITRARY))

    # Plain releases half the time: most boundaries meet there.
    suffix = draw(st.sampled_from(SUFFIXES)) if draw(st.booleans()) else ""
    if kind == 2:
        if "." not in release.split("!")[-1]:
            release += ".0"
        return f"~={release}{suffix}"
    if kind in (3, 4):
        local = ""
        if draw(st.integers(0, 3)) == 0:
            local = "+" + draw(st.sampled_from(LOCALS))
        return draw(st.sampled_from(["==", "!="])) + release + suffix + local
    return draw(st.sampled_from(["<", "<=", ">", ">="])) + release + suffix


@st.composite
def problems(draw, max_sets=4):
    bases = draw(st.lists(st.sampled_from(BASES), min_size=1, max_size=2, unique=True))
    count = draw(st.integers(1, max_sets))
    return [
        ",".join(draw(st.lists(clauses(bases), min_size=1, max_size=3)))
        for _ in range(count)
    ]


def _universe():
    # The generated releases and their neighbours, each with every pre, post
    # and dev segment near the generated ones, and locals on a few of them.
    releases = [
        *["0", "0.0.1", "0.1", "1", "1.0.0.1", "1.0.1", "1.0.2", "1.1", "1.1.1"],
        *["1.2", "2", "2.0.1", "2.1", "3", "1!0", "1!1", "1!1.0.1", "1!1.1", "1!2"],
    ]
    suffixes = [
        pre + post + dev
        for pre in ["", "a0", "a1", "a2", "b0", "b1", "b2", "rc0", "rc1", "rc2"]
        for post in ["", ".post0", ".post1", ".post2"]
        for dev in ["", ".dev0", ".dev1", ".dev2"]
    ]
    texts = {release + suffix for release in releases for suffix in suffixes}
    texts.update(
        f"{release}{suffix}+{label}"
        for release in ["0", "1", "1.1", "2", "1!1"]
        for suffix in ["", "a1", ".post0", ".dev0"]
        for label in [*LOCALS, "a.00a", "a.0.0a", "0a", "c"]
    )
    # Parsed once; their str() is the text, so '===' compares the same.
    universe = [Version(text) for text in sorted(texts)]
    assert all(str(version) in texts for version in universe)
    # '===' compares strings, so the exact strings it may name are candidates.
    return universe + sorted(set(ARBITRARY) - texts)


UNIVERSE = _universe()


@functools.cache
def _members(specifier_set):
    specifiers = SpecifierSet(specifier_set)
    return frozenset(
        index
        for index, candidate in enumerate(UNIVERSE)
        if specifiers.contains(candidate, prereleases=True)
    )


def _brute_force_satisfiable(sets):
    return bool(functools.reduce(frozenset.__and__, map(_members, sets)))


def _satisfies(candidate, sets):
    return all(SpecifierSet(s).contains(candidate, prereleases=True) for s in sets)


@hypothesis_settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(problems())
def test_satisfiability_matches_brute_force_and_packaging(sets):
    witness = _witness(sets)

    # A witness is only trusted once packaging itself accepts it.
    if witness is not None:
        assert _satisfies(witness, sets)
    # Any version of the universe that satisfies all sets must be found.
    if _brute_force_satisfiable(sets):
        assert witness is not None
    # packaging's own interval arithmetic decides over all versions.
    assert (witness is not None) is not SpecifierSet(",".join(sets)).is_unsatisfiable()
    assert is_satisfiable(sets) is (witness is not None)


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(problems(max_sets=5))
def test_clash_is_an_unsatisfiable_minimal_subset(sets):
    clash = find_clash(sets)

    if is_satisfiable(sets):
        assert clash is None
        return

    assert clash == tuple(sorted(set(clash)))
    chosen = [sets[i] for i in clash]
    assert not is_satisfiable(chosen)
    assert not _brute_force_satisfiable(chosen)
    for left_out in range(len(chosen)):
        rest = chosen[:left_out] + chosen[left_out + 1 :]
        assert is_satisfiable(rest)
        assert not SpecifierSet(",".join(rest)).is_unsatisfiable()
    # A pair is preferred to anything larger, a single set to a pair.
    if len(clash) > 1:
        assert all(is_satisfiable([s]) for s in sets)
    if len(clash) > 2:
        assert all(is_satisfiable(pair) for pair in itertools.combinations(sets, 2))
