"""The admin in headless Chromium, with a real django-q2 worker.

A ``manage.py qcluster`` process works the runs against the live server's
database (a file on SQLite, see settings), so the run page can be watched
moving to its end by itself. Screenshots of the key pages are written to
``test-artifacts/screenshots/``.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from installs.models import Conflict, InstallRun, Skill
from tests.support.workers import process_env

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# test makes between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Resolving and building a small venv takes seconds; a cold uv cache more.
RUN_TIMEOUT_MS = 180_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
    pytest.mark.django_db(transaction=True),
]

Status = InstallRun.Status


class Worker:
    """One ``manage.py qcluster`` process, started when the test says so."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = None

    def start(self):
        env = process_env(
            SKILLINSTALL_TARGET_PYTHON=settings.SKILLINSTALL_TARGET_PYTHON,
            SKILLINSTALL_TARGET_PLATFORM=settings.SKILLINSTALL_TARGET_PLATFORM,
            SKILLINSTALL_ALLOW_SDISTS=",".join(settings.SKILLINSTALL_ALLOW_SDISTS),
        )
        with open(self.log_path, "w") as log:
            # A session of its own, so that stopping it reaches the cluster's
            # forked workers and nothing else.
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(settings.BASE_DIR) / "manage.py"),
                    "qcluster",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        # The cluster stops its own workers on SIGTERM; the group is killed
        # only if that does not happen in time.
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self):
        return Path(self.log_path).read_text() if Path(self.log_path).exists() else ""


@pytest.fixture
def worker(live_server, tmp_path):
    worker = Worker(tmp_path / "qcluster.log")
    yield worker
    # Stopped before the live server's database is flushed.
    worker.stop()


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()


@pytest.fixture
def index(python_index):
    python_index.add("tinyfmt", "1.0")
    python_index.add("tinyfmt", "2.0", requires=["tinyhelper>=1"])
    python_index.add("tinyhelper", "1.0")
    return python_index


@pytest.fixture
def admin_login(django_user_model):
    django_user_model.objects.create_superuser(
        "admin", "admin@localhost", "admin-password"
    )
    return "admin", "admin-password"


def screenshot(page, name, *, full_page=False):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def manifest(formatter_spec, version):
    return json.dumps(
        {
            "skills": [
                {
                    "id": "acme/formatter",
                    "name": "Formatter",
                    "version": version,
                    "python": [formatter_spec],
                },
                {
                    "id": "acme/clashing",
                    "name": "Clashing",
                    "version": "0.1.0",
                    "python": ["tinyfmt==1.0", "tinyfmt>=2"],
                },
            ]
        },
        indent=2,
    )


def import_manifest(page, base, text):
    page.goto(f"{base}/admin/installs/skill/")
    page.click("#si-import-link")
    page.fill("textarea[name=text]", text)
    page.click("#si-import-submit")


def run_action(page, base, action, skill_id):
    """Select one skill on the list, run an action, return the run it made."""
    page.goto(f"{base}/admin/installs/skill/")
    page.check(f'input[name="_selected_action"][value="{skill_id}"]')
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    link = page.locator("ul.messagelist a", has_text="run ").first
    run_id = int(link.inner_text().removeprefix("run "))
    return InstallRun.objects.get(pk=run_id), link


def watch_until(page, run, label):
    """Wait for the run page to show ``label`` without being reloaded."""
    from playwright.sync_api import expect

    page.evaluate("window.__sameDocument = true")
    expect(page.locator(f"#run-status-{run.pk}")).to_have_text(
        label, timeout=RUN_TIMEOUT_MS
    )
    assert page.evaluate("window.__sameDocument") is True


def test_install_watch_block_and_roll_back(
    page, live_server, worker, index, admin_login
):
    from playwright.sync_api import expect

    base = live_server.url
    username, password = admin_login

    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#si-links")).to_contain_text("Overview")
    screenshot(page, "index")

    # A bad manifest is refused entry by entry and nothing is saved.
    import_manifest(
        page, base, '{"skills": [{"id": "Bad Id"}, {"id": "ok"}, {"id": "ok"}]}'
    )
    errors = page.locator("#si-import-errors li")
    expect(errors).to_have_text(
        [
            (
                "Manifest pasted in the admin was rejected, nothing was "
                "imported; 2 entries failed:"
            ),
            (
                "Skill id 'Bad Id' is not valid: use 'name' or 'owner/name' with "
                "lowercase letters, digits, '.', '_' and '-' (no '..')."
            ),
            "Skill 'ok' is declared twice.",
        ]
    )
    screenshot(page, "import-errors")
    assert Skill.objects.count() == 0

    import_manifest(page, base, manifest("tinyfmt==1.0", "1.0.0"))
    expect(page.locator("ul.messagelist")).to_have_text(
        "Imported 2 skills: created acme/formatter, acme/clashing."
    )

    # Install: the run waits in the queue until a worker exists, so the page
    # is certainly watched while the run is in flight.
    first, link = run_action(page, base, "install", "acme/formatter")
    assert (first.status, first.trigger) == (Status.QUEUED, "admin")
    link.click()
    status = page.locator(f"#run-status-{first.pk}")
    expect(status).to_have_text("Queued")
    expect(page.locator("#si-run-notice")).to_contain_text("in progress")

    worker.start()
    watch_until(page, first, "Succeeded")
    expect(page.locator(f"#run-log-{first.pk}")).to_contain_text("run succeeded")
    expect(page.locator("#si-run-notice")).to_contain_text("The run finished")
    first.refresh_from_db()
    assert first.locked_versions["python"] == {"tinyfmt": "1.0"}, worker.output()

    page.reload()
    expect(page.locator(".si-change--added")).to_contain_text("tinyfmt")
    screenshot(page, "run-succeeded", full_page=True)

    # A skill whose own specs clash is blocked before anything is queued.
    blocked, _ = run_action(page, base, "install", "acme/clashing")
    assert blocked.status == Status.BLOCKED
    expect(page.locator("ul.messagelist")).to_contain_text("is Blocked.")
    page.goto(f"{base}/admin/installs/conflict/")
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text("tinyfmt")
    expect(row).to_contain_text("acme/clashing")
    screenshot(page, "conflicts")
    assert Conflict.objects.get().run == blocked

    # A second version of the skill, then back to the first environment.
    import_manifest(page, base, manifest("tinyfmt==2.0", "2.0.0"))
    expect(page.locator("ul.messagelist")).to_contain_text("updated acme/formatter")
    second, link = run_action(page, base, "install", "acme/formatter")
    link.click()
    watch_until(page, second, "Succeeded")
    page.reload()
    expect(page.locator(".si-change--upgraded")).to_contain_text("tinyfmt")
    expect(page.locator(".si-change--added")).to_contain_text("tinyhelper")

    page.goto(f"{base}/admin/installs/installrun/{first.pk}/change/")
    page.click("#si-rollback-button")
    rollback = InstallRun.objects.get(kind=InstallRun.Kind.ROLLBACK)
    expect(page).to_have_url(f"{base}/admin/installs/installrun/{rollback.pk}/change/")
    watch_until(page, rollback, "Rolled back")
    formatter = Skill.objects.get(pk="acme/formatter")
    assert formatter.active_artifact_id == first.artifact_id
    assert rollback.requested_by.username == "admin"

    page.goto(f"{base}/admin/installs/skill/acme/formatter/change/")
    expect(page.locator("#runs-group tbody tr.has_original")).to_have_count(3)
    screenshot(page, "skill", full_page=True)

    page.goto(f"{base}/admin/installs/skill/")
    expect(page.locator("[data-state=installed]")).to_have_count(1)
    expect(page.locator("[data-state=blocked]")).to_have_count(1)
    screenshot(page, "skills")

    page.goto(f"{base}/admin/installs/skill/overview/")
    expect(page.locator('td[data-status="succeeded"]')).to_have_text("2")
    expect(page.locator('td[data-status="rolled_back"]')).to_have_text("1")
    expect(page.locator('td[data-status="blocked"]')).to_have_text("1")
    expect(page.locator("#si-recent-failures")).to_contain_text("acme/clashing")
    screenshot(page, "overview")
