import pytest

from installs import conflicts
from installs.conflicts import (
    Environment,
    SpecRef,
    find_conflicts,
    platform_constraints,
)
from installs.exceptions import ConfigurationError
from installs.manifests import parse_manifest
from installs.requirements import npm, python


def skills(*objects):
    return parse_manifest(list(objects), source="test")


def test_compatible_specs_are_not_a_conflict():
    batch = skills(
        {
            "id": "a",
            "python": ["numpy>=1.20", "requests"],
            "npm": {"lodash": "^4.17.0"},
        },
        {"id": "b", "python": ["numpy<2"], "npm": {"lodash": "4.17.21"}},
    )

    assert find_conflicts(batch, shared=True) == []


def test_within_skill_conflict_names_both_specs():
    (report,) = find_conflicts(
        skills(
            {"id": "acme/a", "python": ["numpy==1.21.0", "requests", "NumPy==1.24.0"]}
        )
    )

    assert report.kind == "within_skill"
    assert report.ecosystem == "python"
    assert report.package == "numpy"
    assert report.specs == (
        SpecRef("numpy==1.21.0", "acme/a"),
        SpecRef("NumPy==1.24.0", "acme/a"),
    )
    assert report.message == (
        "Python package 'numpy': no version satisfies all of 'numpy==1.21.0' "
        "(skill 'acme/a'), 'NumPy==1.24.0' (skill 'acme/a'). Fix the skill's manifest "
        "so that its specs on this package agree."
    )


def test_across_batch_conflicts_only_when_shared():
    batch = skills(
        {"id": "a", "python": ["PyYAML==6.0.1"]},
        {"id": "b", "python": ["pyyaml>=3.11,<4"]},
        {"id": "c", "npm": ["chalk@1.2.3 - 2.3.4"]},
        {"id": "d", "npm": {"chalk": "^2.4.0"}},
    )

    assert find_conflicts(batch, shared=False) == []
    python_report, npm_report = find_conflicts(batch, shared=True)

    assert (python_report.kind, python_report.package) == ("across_batch", "pyyaml")
    assert python_report.skill_ids == ["a", "b"]
    assert (npm_report.kind, npm_report.package) == ("across_batch", "chalk")
    assert npm_report.message == (
        "npm package 'chalk': no version satisfies all of 'chalk@1.2.3 - 2.3.4' "
        "(skill 'c'), 'chalk@^2.4.0' (skill 'd'). Install these skills in isolated "
        "mode, or align their specs on this package."
    )


def test_shared_conflict_names_every_skill_with_a_clashing_spec():
    batch = skills(
        {"id": "a", "python": ["foo~=1.4.2"]},
        {"id": "b", "python": ["foo==1.5.0"]},
        {"id": "c", "python": ["foo==1.5.0"]},
        {"id": "d", "python": ["foo>=1"]},
    )

    (report,) = find_conflicts(batch, shared=True)

    assert report.skill_ids == ["a", "b", "c"]


def test_platform_constraint_conflict_names_the_constraints_file():
    constraints = python.parse_constraints(
        "# pinned by the platform\nnumpy==1.26.4  # ABI\n", source=conflicts.PLATFORM
    )

    (report,) = find_conflicts(
        skills({"id": "a", "python": ["numpy<1.25"]}), python_constraints=constraints
    )

    assert report.kind == "platform"
    assert report.specs == (
        SpecRef("numpy<1.25", "a"),
        SpecRef("numpy==1.26.4", conflicts.PLATFORM),
    )
    assert "'numpy==1.26.4' (platform constraints)" in report.message


def test_npm_platform_constraints():
    constraints = npm.parse_constraints(
        '{"react": "^18.2.0"}', source=conflicts.PLATFORM
    )

    (report,) = find_conflicts(
        skills({"id": "ui", "npm": {"react": "^17"}}), npm_constraints=constraints
    )

    assert (report.kind, report.ecosystem, report.package) == (
        "platform",
        "npm",
        "react",
    )


def test_marker_false_for_the_target_takes_no_part():
    batch = skills(
        {"id": "a", "python": ['pywin32==300; sys_platform == "win32"', "pywin32==301"]}
    )

    assert find_conflicts(batch) == []
    windows = python.target_environment(platform="windows")
    assert [r.kind for r in find_conflicts(batch, target=windows)] == ["within_skill"]


def test_new_skill_checked_against_an_installed_environment():
    installed = Environment(
        label="skill 'base'", python={"numpy": "1.26.4"}, npm={"lodash": "4.17.21"}
    )

    reports = find_conflicts(
        skills({"id": "new", "python": ["numpy>=2"], "npm": {"lodash": "^4.0.0"}}),
        environment=installed,
    )

    (report,) = reports
    assert report.kind == "environment"
    assert report.specs == (
        SpecRef("numpy>=2", "new"),
        SpecRef("numpy==1.26.4", "installed: skill 'base'"),
    )


def test_constraints_file_that_cannot_be_read(tmp_path):
    with pytest.raises(ConfigurationError) as excinfo:
        platform_constraints(python_path=tmp_path / "missing.txt")

    assert excinfo.value.message == (
        f"Constraints file {tmp_path / 'missing.txt'} cannot be read: "
        "No such file or directory."
    )
