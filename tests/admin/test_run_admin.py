"""A run's page, its progress feed and its rollback button."""

import pytest
from django.urls import reverse

from installs.models import Artifact, InstallRun, Skill, Trigger
from tests.admin.conftest import (
    complete_environment,
    make_artifact,
    make_run,
    make_skill,
)

pytestmark = pytest.mark.django_db

Status = InstallRun.Status


def page(run):
    return reverse("admin:installs_installrun_change", args=[run.pk])


def progress(run):
    return reverse("admin:installs_installrun_progress", args=[run.pk])


def rollback(run):
    return reverse("admin:installs_installrun_rollback", args=[run.pk])


@pytest.fixture
def two_runs(tmp_path):
    """A skill installed twice; the first environment still exists."""
    skill = make_skill("acme/a", python=["alpha"], npm={"left-pad": "^1.0.0"})
    old = complete_environment(
        tmp_path,
        make_artifact(
            "old",
            versions={
                "python": {"alpha": "1.0", "gone": "3.0", "same": "1.0"},
                "npm": {"left-pad": "1.3.0"},
            },
            python_lock="alpha==1.0 \\\n    --hash=sha256:aaaa\n",
        ),
    )
    new = make_artifact(
        "new",
        versions={
            "python": {"alpha": "2.0", "fresh": "0.1", "same": "1.0"},
            "npm": {"left-pad": "1.2.0"},
        },
        python_lock="alpha==2.0 \\\n    --hash=sha256:bbbb\n",
        npm_lock='{"lockfileVersion": 3, "packages": {}}',
    )
    first = make_run(skill, artifact=old, minutes_ago=10, log="first log\n")
    second = make_run(
        skill,
        artifact=new,
        minutes_ago=5,
        npm_lock=new.npm_lock,
        log="resolving\nbuilding\nrun succeeded\n",
        trigger=Trigger.ADMIN,
    )
    skill.active_artifact = new
    skill.save()
    return first, second


def test_run_page_shows_status_lock_changes_and_log(admin_client, two_runs):
    first, second = two_runs

    response = admin_client.get(page(second))

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f'<span class="si-badge si-badge--ok" data-status="succeeded" '
        f'id="run-status-{second.pk}">Succeeded</span>'
    ) in html
    assert "alpha==2.0 \\\n    --hash=sha256:bbbb" in html
    assert (
        "1 package(s), package-lock.json version 3: <code>left-pad@1.2.0</code>" in html
    )
    assert f'against <a href="{page(first)}">run {first.pk}</a>' in html
    for kind, package, before, after in [
        ("added", "fresh", "-", "0.1"),
        ("removed", "gone", "3.0", "-"),
        ("upgraded", "alpha", "1.0", "2.0"),
        ("downgraded", "left-pad", "1.3.0", "1.2.0"),
    ]:
        assert (
            f'<tr class="si-change si-change--{kind}"><td>{kind}</td>'
            f"<td>{'npm' if package == 'left-pad' else 'python'}</td>"
            f"<td>{package}</td><td><code>{before}</code></td>"
            f"<td><code>{after}</code></td></tr>"
        ) in html
    assert f'<pre class="si-pre" id="run-log-{second.pk}">resolving\nbuilding' in html
    assert 'data-in-flight="false"' in html
    assert 'id="si-rollback-button"' in html


def test_in_flight_run_page_polls_its_progress(admin_client):
    run = make_run(make_skill("acme/a"), Status.BUILDING, log="resolving\n")

    response = admin_client.get(page(run))

    html = response.content.decode()
    assert f'data-url="{progress(run)}"' in html
    assert 'data-in-flight="true"' in html
    assert "installs/run_progress.js" in html
    assert 'id="si-rollback-button"' not in html


def test_progress_view_returns_status_and_log(admin_client):
    run = make_run(make_skill("acme/a"), Status.BUILDING, log="resolving\nbuilding\n")

    response = admin_client.get(progress(run))

    assert response.status_code == 200
    assert response.json() == {
        "id": run.pk,
        "status": "building",
        "status_label": "Building",
        "tone": "busy",
        "in_flight": True,
        "log": "resolving\nbuilding\n",
        "error": "",
        "cache_hit": False,
        "duration": None,
        "finished_at": None,
    }


def test_progress_view_reports_a_finished_run(viewer_client):
    run = make_run(make_skill("acme/a"), Status.FAILED, error="uv failed")

    body = viewer_client.get(progress(run)).json()

    assert (body["status"], body["in_flight"], body["error"]) == (
        "failed",
        False,
        "uv failed",
    )
    assert body["duration"] == 3.0
    assert body["tone"] == "bad"


def test_progress_view_needs_login_and_view_permission(client, django_user_model):
    run = make_run(make_skill("acme/a"), Status.BUILDING)

    anonymous = client.get(progress(run))
    client.force_login(
        django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    )
    staff_without_permission = client.get(progress(run))

    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("admin:login"))
    assert staff_without_permission.status_code == 403


@pytest.mark.parametrize("method, suffix", [("get", "progress"), ("post", "rollback")])
@pytest.mark.parametrize("run_id", ["999", "not-a-number"])
def test_views_of_a_missing_run_are_404(admin_client, method, suffix, run_id):
    url = f"/admin/installs/installrun/{run_id}/{suffix}/"

    assert getattr(admin_client, method)(url).status_code == 404


def test_rollback_button_rolls_back_to_this_run(admin_client, admin_user, two_runs):
    first, _ = two_runs

    response = admin_client.post(rollback(first), follow=True)

    run = InstallRun.objects.get(kind=InstallRun.Kind.ROLLBACK)
    assert (run.rollback_to, run.trigger, run.requested_by) == (
        first,
        Trigger.ADMIN,
        admin_user,
    )
    assert run.status == Status.ROLLED_BACK and run.cache_hit
    assert Skill.objects.get().active_artifact == first.artifact
    assert response.redirect_chain == [(page(run), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        (
            f'Rolling skill acme/a back to run {first.pk}: <a href="{page(run)}">'
            f"run {run.pk}</a> is rolled back."
        )
    ]


def test_rollback_to_a_pruned_environment_queues_a_rebuild(admin_client, two_runs):
    first, _ = two_runs
    Artifact.objects.filter(pk=first.artifact_id).update(status=Artifact.Status.REMOVED)

    admin_client.post(rollback(first))

    run = InstallRun.objects.get(kind=InstallRun.Kind.ROLLBACK)
    assert run.status == Status.QUEUED
    assert run.dependency_hash == first.dependency_hash


def test_rollback_to_an_unsuccessful_run_is_refused(admin_client):
    run = make_run(make_skill("acme/a"), Status.FAILED)

    response = admin_client.post(rollback(run), follow=True)

    assert response.redirect_chain == [(page(run), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        (
            f"Run {run.pk} is not a successful run of skill 'acme/a', so the "
            "skill cannot be rolled back to it."
        )
    ]
    assert InstallRun.objects.count() == 1


def test_rollback_needs_post_and_the_trigger_permission(
    admin_client, viewer_client, two_runs
):
    first, _ = two_runs

    assert admin_client.get(rollback(first)).status_code == 405
    assert viewer_client.post(rollback(first)).status_code == 403
    assert b"si-rollback-button" not in viewer_client.get(page(first)).content
    assert InstallRun.objects.count() == 2


def test_rollback_checks_csrf(client, admin_user, two_runs):
    first, _ = two_runs
    client.handler.enforce_csrf_checks = True
    client.force_login(admin_user)

    assert client.post(rollback(first)).status_code == 403
    assert InstallRun.objects.count() == 2


@pytest.mark.parametrize("model", ["installrun", "conflict", "batch", "artifact"])
def test_history_cannot_be_added_changed_or_deleted(admin_client, two_runs, model):
    first, _ = two_runs
    pk = {"installrun": first.pk, "artifact": first.artifact_id}.get(model)

    add = admin_client.get(reverse(f"admin:installs_{model}_add"))

    assert add.status_code == 403
    if pk is not None:
        delete = admin_client.post(reverse(f"admin:installs_{model}_delete", args=[pk]))
        change = admin_client.post(reverse(f"admin:installs_{model}_change", args=[pk]))
        assert delete.status_code == 403
        assert change.status_code == 403
    assert InstallRun.objects.count() == 2


def test_run_list_renders_with_badges(admin_client, two_runs):
    response = admin_client.get(reverse("admin:installs_installrun_changelist"))

    assert response.status_code == 200
    assert response.content.count(b'data-status="succeeded"') == 2
    assert b"3.0s" in response.content
