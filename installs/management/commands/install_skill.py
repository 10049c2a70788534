"""Install skills from the command line: queue runs, or run them inline."""

import json

from django.core.management.base import BaseCommand

from installs import services
from installs.exceptions import SkillInstallError
from installs.models import InstallRun, Trigger


class Command(BaseCommand):
    help = (
        "Install skills. Exit 0 when every run succeeded (or was queued without "
        "--wait), 1 when any failed or was blocked."
    )

    def add_arguments(self, parser):
        parser.add_argument("skill_ids", nargs="+", metavar="SKILL_ID")
        parser.add_argument(
            "--force", action="store_true", help="Resolve and build again."
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Run each install here and wait for its outcome (no worker needed).",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, **options):
        outcomes = []
        for skill_id in options["skill_ids"]:
            try:
                run = services.request_install(
                    skill_id=skill_id,
                    trigger=Trigger.CLI,
                    force=options["force"],
                    enqueue=not options["wait"],
                )
            except SkillInstallError as exc:
                outcomes.append(
                    {
                        "skill": skill_id,
                        "run": None,
                        "status": "error",
                        "code": exc.code,
                        "error": exc.message,
                    }
                )
                continue
            if options["wait"]:
                run = self._wait(run)
            outcomes.append(
                {
                    "skill": skill_id,
                    "run": run.pk,
                    "status": run.status,
                    "cache_hit": run.cache_hit,
                    "code": run.error_code,
                    "error": run.error,
                    "dependency_hash": run.dependency_hash,
                }
            )

        if options["json"]:
            self.stdout.write(json.dumps({"runs": outcomes}, indent=2))
        else:
            for outcome in outcomes:
                line = f"{outcome['skill']}: {outcome['status']}"
                if outcome["run"]:
                    hit = ", cache hit" if outcome.get("cache_hit") else ""
                    line += f" (run {outcome['run']}{hit})"
                if outcome["error"]:
                    line += f"\n  {outcome['error']}"
                self.stdout.write(line)
        ok = {
            InstallRun.Status.SUCCEEDED,
            InstallRun.Status.QUEUED,
            InstallRun.Status.RESOLVING,
            InstallRun.Status.BUILDING,
        }
        if any(outcome["status"] not in ok for outcome in outcomes):
            raise SystemExit(1)

    def _wait(self, run):
        if run.status == InstallRun.Status.QUEUED:
            run = services.execute_run(run.pk)
        # A run taken by another process: follow it to its end.
        return services.follow_run(run.pk)
