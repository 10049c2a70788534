"""The skill list, its filters and actions, and a skill's page."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from installs.models import Conflict, InstallRun, Skill, Trigger
from tests.admin.conftest import (
    complete_environment,
    make_artifact,
    make_run,
    make_skill,
)

pytestmark = pytest.mark.django_db

Status = InstallRun.Status
CHANGELIST = reverse("admin:installs_skill_changelist")


def act(client, action, *skill_ids):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": list(skill_ids)},
        follow=True,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def skills():
    """One skill in each state."""
    installed = make_skill("acme/installed", python=["alpha==1.0"])
    artifact = make_artifact("a1", versions={"python": {"alpha": "1.0"}})
    make_run(installed, artifact=artifact, minutes_ago=5)
    installed.active_artifact = artifact
    installed.save()

    building = make_skill("acme/building")
    make_run(building, Status.BUILDING)

    failed = make_skill("acme/failed")
    make_run(failed, Status.FAILED, error="uv said no")

    blocked = make_skill("acme/blocked")
    make_run(blocked, Status.BLOCKED, error="clash")

    make_skill("acme/new", name="Brand new")
    return artifact


def test_skill_list_shows_state_last_run_and_environment(admin_client, skills):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    for state in ("installed", "building", "failed", "blocked", "never installed"):
        assert f'data-state="{state}"' in html
    assert "succeeded, 5\xa0minutes ago" in html
    assert str(skills) in html
    assert reverse("admin:installs_skill_import") in html
    assert reverse("admin:installs_overview") in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("state=installed", ["acme/installed"]),
        ("state=building", ["acme/building"]),
        ("state=failed", ["acme/failed"]),
        ("state=blocked", ["acme/blocked"]),
        ("state=never+installed", ["acme/new"]),
        ("has_environment=yes", ["acme/installed"]),
        (
            "has_environment=no",
            ["acme/blocked", "acme/building", "acme/failed", "acme/new"],
        ),
        ("q=brand", ["acme/new"]),
    ],
)
def test_skill_list_filters_and_search(admin_client, skills, query, expected):
    response = admin_client.get(f"{CHANGELIST}?{query}")

    assert response.status_code == 200
    listed = [skill.pk for skill in response.context["cl"].result_list]
    assert listed == expected


def test_install_action_starts_an_admin_run_for_the_user(admin_client, admin_user):
    make_skill("acme/a", python=["alpha==1.0"])

    response = act(admin_client, "install", "acme/a")

    run = InstallRun.objects.get()
    assert (run.skill_id, run.trigger, run.requested_by) == (
        "acme/a",
        Trigger.ADMIN,
        admin_user,
    )
    assert run.status == Status.QUEUED
    assert run.force is False
    assert messages_of(response) == [
        (
            f'acme/a: <a href="/admin/installs/installrun/{run.pk}/change/">'
            f"run {run.pk}</a> is Queued."
        )
    ]


def test_force_rebuild_action_asks_for_a_forced_run(admin_client):
    make_skill("acme/a", python=["alpha==1.0"])

    act(admin_client, "force_rebuild", "acme/a")

    assert InstallRun.objects.get().force is True


def test_install_action_reports_a_blocked_run_and_its_conflict(admin_client):
    make_skill("acme/clash", python=["alpha==1.0", "alpha==2.0"])

    response = act(admin_client, "install", "acme/clash")

    run = InstallRun.objects.get()
    assert run.status == Status.BLOCKED
    conflict = Conflict.objects.get()
    assert conflict.run == run and conflict.package == "alpha"
    [message] = messages_of(response)
    assert message.endswith(f"run {run.pk}</a> is Blocked. {escape(run.error)}")
    assert "'alpha==1.0' (skill 'acme/clash')" in run.error


def test_check_conflicts_action_reports_each_conflict(admin_client):
    make_skill("acme/clash", python=["alpha==1.0", "alpha==2.0"])
    make_skill("acme/fine", python=["beta>=1"])

    response = act(admin_client, "check_conflicts", "acme/clash", "acme/fine")

    conflict = Conflict.objects.get()
    assert messages_of(response) == [
        conflict.message,
        (
            "1 conflict(s) in 2 skill(s) checked each on its own; they are "
            'recorded under <a href="/admin/installs/conflict/">conflicts</a>.'
        ),
    ]
    assert InstallRun.objects.count() == 0


def test_shared_check_finds_conflicts_between_skills(admin_client):
    make_skill("acme/a", python=["alpha==1.0"])
    make_skill("acme/b", python=["alpha==2.0"])

    alone = act(admin_client, "check_conflicts", "acme/a", "acme/b")
    shared = act(admin_client, "check_shared_conflicts", "acme/a", "acme/b")

    assert messages_of(alone) == ["No conflicts in 2 skill(s) checked each on its own."]
    conflict = Conflict.objects.get()
    assert conflict.kind == Conflict.Kind.ACROSS_BATCH
    assert messages_of(shared)[0] == conflict.message


def test_rollback_action_returns_to_the_previous_environment(
    admin_client, admin_user, tmp_path
):
    skill = make_skill("acme/a", python=["alpha"])
    old = complete_environment(
        tmp_path, make_artifact("old", versions={"python": {"alpha": "1.0"}})
    )
    new = make_artifact("new", versions={"python": {"alpha": "2.0"}})
    first = make_run(skill, artifact=old, minutes_ago=10)
    make_run(skill, artifact=new, minutes_ago=5)
    skill.active_artifact = new
    skill.save()

    response = act(admin_client, "roll_back_to_previous", "acme/a")

    rollback = InstallRun.objects.get(kind=InstallRun.Kind.ROLLBACK)
    assert rollback.rollback_to == first
    assert (rollback.trigger, rollback.requested_by) == (Trigger.ADMIN, admin_user)
    assert rollback.status == Status.ROLLED_BACK
    assert Skill.objects.get(pk="acme/a").active_artifact == old
    assert messages_of(response) == [
        (
            f'acme/a: <a href="/admin/installs/installrun/{rollback.pk}/change/">'
            f"run {rollback.pk}</a> is Rolled back."
        )
    ]


def test_rollback_action_without_a_target_says_so(admin_client):
    make_skill("acme/a")

    response = act(admin_client, "roll_back_to_previous", "acme/a")

    assert messages_of(response) == [
        "acme/a: Skill 'acme/a' has no earlier successful environment to roll back to."
    ]


def test_actions_need_the_trigger_permission(viewer_client):
    make_skill("acme/a", python=["alpha==1.0"])

    listing = viewer_client.get(CHANGELIST)
    response = act(viewer_client, "install", "acme/a")

    assert listing.status_code == 200
    assert listing.context["action_form"] is None
    assert reverse("admin:installs_skill_import") not in listing.content.decode()
    assert response.status_code == 200
    assert InstallRun.objects.count() == 0
    # Without permitted actions Django ignores the action POST altogether.
    assert messages_of(response) == []


def test_operator_with_the_trigger_permission_may_install(client, operator):
    make_skill("acme/a", python=["alpha==1.0"])
    client.force_login(operator)

    act(client, "install", "acme/a")

    assert InstallRun.objects.get().requested_by == operator


def test_skill_page_shows_specs_locked_versions_and_history(admin_client):
    skill = make_skill(
        "acme/a", python=["alpha==1.0", "beta>=2"], npm={"left-pad": "^1.3.0"}
    )
    artifact = make_artifact(
        "a1", versions={"python": {"alpha": "1.0", "beta": "2.1"}, "npm": {}}
    )
    older = make_run(skill, Status.FAILED, minutes_ago=20, error="boom")
    newer = make_run(skill, artifact=artifact, minutes_ago=10)
    skill.active_artifact = artifact
    skill.save()

    response = admin_client.get(reverse("admin:installs_skill_change", args=["acme/a"]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<li><code>alpha==1.0</code></li>" in html
    assert "<li><code>left-pad@^1.3.0</code></li>" in html
    assert "<td>Python</td><td>beta</td><td><code>2.1</code></td>" in html
    assert html.index(f"run {newer.pk}</a>") < html.index(f"run {older.pk}</a>")
    assert "History of runs (newest first)" in html


@pytest.mark.parametrize("url_name", ["add", "delete"])
def test_skills_are_not_added_or_deleted_in_the_admin(admin_client, url_name):
    make_skill("acme/a")
    args = [] if url_name == "add" else ["acme/a"]

    response = admin_client.get(reverse(f"admin:installs_skill_{url_name}", args=args))

    assert response.status_code == 403


def test_skill_page_is_read_only(admin_client):
    make_skill("acme/a", python=["alpha==1.0"])
    url = reverse("admin:installs_skill_change", args=["acme/a"])

    response = admin_client.post(url, {"id": "acme/a", "name": "changed"})

    assert response.status_code == 403
    assert Skill.objects.get().name == "acme/a"
