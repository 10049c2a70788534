"""selectors.lock_changes: what a run changed against the previous good run."""

import pytest

from installs import selectors
from installs.models import InstallRun
from installs.selectors import PackageChange
from tests.admin.conftest import make_run, make_skill

pytestmark = pytest.mark.django_db

Status = InstallRun.Status


def run_with(skill, python=None, npm=None, status=Status.SUCCEEDED, minutes_ago=0):
    versions = {"python": python or {}, "npm": npm or {}}
    return make_run(
        skill,
        status,
        locked_versions=versions,
        dependency_hash=f"h{skill.runs.count()}",
        minutes_ago=minutes_ago,
    )


@pytest.fixture
def skill():
    return make_skill("acme/a")


def test_changes_are_sorted_into_added_removed_upgraded_downgraded(skill):
    before = run_with(
        skill,
        python={"alpha": "1.0", "beta": "2.0", "gone": "1.0", "same": "3.1"},
        npm={"left-pad": "1.9.0", "right-pad": "2.0.0"},
        minutes_ago=10,
    )
    after = run_with(
        skill,
        python={"alpha": "10.0", "beta": "2.0rc1", "new": "0.1", "same": "3.1"},
        npm={"left-pad": "1.10.0", "right-pad": "2.0.0-beta.1"},
    )

    changes = selectors.lock_changes(after)

    assert changes.previous == before
    assert changes.added == [PackageChange("python", "new", "", "0.1")]
    assert changes.removed == [PackageChange("python", "gone", "1.0", "")]
    # Versions compare as versions, not strings: 10.0 > 1.0, 1.10.0 > 1.9.0,
    # and a pre-release comes before its release.
    assert changes.upgraded == [
        PackageChange("python", "alpha", "1.0", "10.0"),
        PackageChange("npm", "left-pad", "1.9.0", "1.10.0"),
    ]
    assert changes.downgraded == [
        PackageChange("python", "beta", "2.0", "2.0rc1"),
        PackageChange("npm", "right-pad", "2.0.0", "2.0.0-beta.1"),
    ]
    assert changes.unchanged == 1
    assert changes.changed


def test_first_successful_run_adds_everything(skill):
    run = run_with(skill, python={"alpha": "1.0"}, npm={"left-pad": "1.3.0"})

    changes = selectors.lock_changes(run)

    assert changes.previous is None
    assert changes.added == [
        PackageChange("python", "alpha", "", "1.0"),
        PackageChange("npm", "left-pad", "", "1.3.0"),
    ]
    assert changes.removed == changes.upgraded == changes.downgraded == []


@pytest.mark.parametrize(
    "status, counts",
    [
        (Status.SUCCEEDED, True),
        (Status.ROLLED_BACK, True),
        (Status.FAILED, False),
        (Status.BLOCKED, False),
    ],
)
def test_only_successful_earlier_runs_are_compared_with(skill, status, counts):
    good = run_with(skill, python={"alpha": "1.0"}, minutes_ago=20)
    other = run_with(skill, python={"alpha": "2.0"}, status=status, minutes_ago=10)
    run = run_with(skill, python={"alpha": "2.0"})

    changes = selectors.lock_changes(run)

    assert changes.previous == (other if counts else good)


def test_later_runs_and_other_skills_are_not_compared_with(skill):
    run = run_with(skill, python={"alpha": "1.0"}, minutes_ago=10)
    run_with(skill, python={"alpha": "2.0"})
    run_with(make_skill("acme/other"), python={"alpha": "0.5"}, minutes_ago=20)

    assert selectors.lock_changes(run).previous is None


def test_unorderable_versions_count_as_upgrades(skill):
    run_with(skill, python={"alpha": "1.0"}, npm={"x": "1.0.0"}, minutes_ago=5)
    run = run_with(skill, python={"alpha": "not a version"}, npm={"x": "git-ref"})

    changes = selectors.lock_changes(run)

    assert [c.package for c in changes.upgraded] == ["alpha", "x"]


def test_a_run_without_a_lock_has_no_changes(skill):
    run = make_run(skill, Status.BLOCKED)

    assert selectors.lock_changes(run) is None
