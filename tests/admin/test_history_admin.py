"""Conflicts, findings, batches, artifacts and the overview page."""

import pytest
from django.urls import reverse

from installs import services
from installs.models import Batch, Conflict, Finding, InstallRun, Trigger
from tests.admin.conftest import make_artifact, make_run, make_skill

pytestmark = pytest.mark.django_db

Status = InstallRun.Status


@pytest.fixture
def conflicts():
    make_skill("acme/a", python=["alpha==1.0", "alpha==2.0"])
    make_skill("acme/b", npm=["left-pad@^1.0.0", "left-pad@^2.0.0"])
    make_skill("acme/c", python=["beta<1", "beta>2"])
    services.check_skill_conflicts(skill_ids=["acme/a", "acme/b", "acme/c"])
    return Conflict.objects.all()


def listed(response):
    return sorted(str(obj) for obj in response.context["cl"].result_list)


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            "",
            [
                "npm:left-pad (within_skill)",
                "python:alpha (within_skill)",
                "python:beta (within_skill)",
            ],
        ),
        ("ecosystem__exact=npm", ["npm:left-pad (within_skill)"]),
        ("package=beta", ["python:beta (within_skill)"]),
        ("kind__exact=platform", []),
        ("skills__id__exact=acme/a", ["python:alpha (within_skill)"]),
    ],
)
def test_conflict_list_filters(admin_client, conflicts, query, expected):
    response = admin_client.get(
        reverse("admin:installs_conflict_changelist") + "?" + query
    )

    assert response.status_code == 200
    assert listed(response) == expected


def test_conflict_page_names_each_spec_and_its_skill(admin_client, conflicts):
    conflict = conflicts.get(package="alpha")

    response = admin_client.get(
        reverse("admin:installs_conflict_change", args=[conflict.pk])
    )

    html = response.content.decode()
    assert "<tr><td><code>alpha==1.0</code></td><td>acme/a</td></tr>" in html
    assert '<a href="/admin/installs/skill/acme/a/change/">acme/a</a>' in html


def test_finding_list_filters_by_skill_and_severity(admin_client):
    run_a = make_run(make_skill("acme/a"), Status.BLOCKED)
    run_b = make_run(make_skill("acme/b"))
    Finding.objects.create(
        run=run_a,
        ecosystem="python",
        package="reqeusts",
        kind="typosquat",
        severity="high",
        message="looks like requests",
        blocked=True,
    )
    Finding.objects.create(
        run=run_b,
        ecosystem="npm",
        package="left-pad",
        kind="advisory",
        advisory_id="GHSA-1",
        severity="low",
        message="old",
    )
    url = reverse("admin:installs_finding_changelist")

    everything = admin_client.get(url)
    by_skill = admin_client.get(url + "?run__skill__id__exact=acme/b")
    by_severity = admin_client.get(url + "?severity__exact=high")

    assert everything.status_code == 200
    assert listed(everything) == ["advisory npm:left-pad", "typosquat python:reqeusts"]
    assert listed(by_skill) == ["advisory npm:left-pad"]
    assert listed(by_severity) == ["typosquat python:reqeusts"]


def test_batch_page_shows_the_outcome_per_skill(admin_client, admin_user):
    make_skill("acme/a", python=["alpha==1.0"])
    make_skill("acme/b", python=["alpha==2.0"])
    batch = services.request_batch(
        skill_ids=["acme/a", "acme/b"],
        mode=Batch.Mode.SHARED,
        trigger=Trigger.ADMIN,
        requested_by=admin_user,
    )

    listing = admin_client.get(reverse("admin:installs_batch_changelist"))
    page = admin_client.get(reverse("admin:installs_batch_change", args=[batch.pk]))

    assert b"2 blocked" in listing.content
    html = page.content.decode()
    assert "Outcome per skill" in html
    for run in batch.runs.all():
        assert f"run {run.pk}</a>" in html
    assert html.count('data-status="blocked"') == 2


def test_artifact_list_shows_size_and_the_skills_using_it(admin_client):
    artifact = make_artifact("abc", size=3 * 1024 * 1024)
    for skill_id in ("acme/a", "acme/b"):
        make_skill(skill_id, active_artifact=artifact)

    response = admin_client.get(reverse("admin:installs_artifact_changelist"))

    html = response.content.decode()
    assert "3.0\xa0MB" in html
    assert (
        '<a href="/admin/installs/skill/acme/a/change/">acme/a</a>, '
        '<a href="/admin/installs/skill/acme/b/change/">acme/b</a>'
    ) in html


def test_overview_counts_runs_skills_failures_and_disk_use(admin_client):
    artifact = make_artifact("abc", size=2048)
    ok = make_skill("acme/ok", active_artifact=artifact)
    make_run(ok, artifact=artifact)
    broken = make_skill("acme/broken")
    make_run(broken, Status.FAILED, error="uv could not find alpha")
    make_skill("acme/new")
    make_artifact("gone", size=10**9, status="removed")

    response = admin_client.get(reverse("admin:installs_overview"))

    assert response.status_code == 200
    html = response.content.decode()
    summary = response.context["overview"]
    assert {s: n for s, _, n in summary.runs_by_status}["failed"] == 1
    assert dict(summary.skills_by_state) == {
        "installed": 1,
        "building": 0,
        "failed": 1,
        "blocked": 0,
        "never installed": 1,
    }
    assert '<td class="si-count" data-status="succeeded">1</td>' in html
    assert '<td class="si-count" data-state="never installed">1</td>' in html
    assert '<td class="si-count" id="si-disk-total">2.0\xa0KB</td>' in html
    assert "uv could not find alpha" in html


def test_admin_index_links_to_the_overview_and_import(admin_client, viewer_client):
    overview = reverse("admin:installs_overview")
    imports = reverse("admin:installs_skill_import")

    as_admin = admin_client.get(reverse("admin:index")).content.decode()
    as_viewer = viewer_client.get(reverse("admin:index")).content.decode()
    app_index = admin_client.get(reverse("admin:app_list", args=["installs"]))

    assert overview in as_admin and imports in as_admin
    assert overview in as_viewer and imports not in as_viewer
    assert overview.encode() in app_index.content


def test_overview_needs_view_permission(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    )

    assert client.get(reverse("admin:installs_overview")).status_code == 403
