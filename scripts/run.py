"""Start skillinstall on its embedded default: web and worker together.

Migrates the database, makes an admin login (printed), imports the demo
skills, then runs the web server and one django-q2 worker until Ctrl-C.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillinstall_project.settings")

import django

django.setup()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

ADDRESS = os.environ.get("SKILLINSTALL_ADDRESS", "127.0.0.1:8000")


def ensure_admin():
    password_file = settings.VAR_DIR / "admin_password"
    User = get_user_model()
    user = User.objects.filter(username="admin").first()
    if user is None or not password_file.exists():
        password = secrets.token_urlsafe(12)
        if user is None:
            user = User.objects.create_superuser("admin", "admin@localhost", password)
        else:
            user.set_password(password)
            user.save()
        password_file.write_text(password)
        password_file.chmod(0o600)
    return password_file.read_text().strip()


def main():
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    password = ensure_admin()
    # A path relative to the checkout: a skill's source names no server paths.
    os.chdir(BASE)
    call_command("import_skills", "demo/skills.json")

    manage = [sys.executable, str(BASE / "manage.py")]
    procs = [
        subprocess.Popen(manage + ["qcluster"]),
        subprocess.Popen(manage + ["runserver", "--noreload", ADDRESS]),
    ]
    print(
        f"\nskillinstall is running at http://{ADDRESS}/admin/\n"
        f"  admin login: admin / {password}\n"
        f"  API: http://{ADDRESS}/api/docs/\n"
        "  Ctrl-C stops web and worker.\n",
        flush=True,
    )
    # A stop by signal (a service manager, kill) ends web and worker too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
