"""Show a skill's active environment, its last runs and open conflicts."""

import json

from django.core.management.base import BaseCommand, CommandError

from installs import selectors, services
from installs.exceptions import SkillInstallError


class Command(BaseCommand):
    help = "Show a skill's state, active environment, last runs and open conflicts."

    def add_arguments(self, parser):
        parser.add_argument("skill_id", metavar="SKILL_ID")
        parser.add_argument(
            "--runs", type=int, default=5, help="How many runs to list."
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, **options):
        try:
            skill = services.get_skill(options["skill_id"])
        except SkillInstallError as exc:
            raise CommandError(exc.message)
        artifact = skill.active_artifact
        runs = list(skill.runs.order_by("-created_at", "-id")[: options["runs"]])
        status = {
            "skill": skill.pk,
            "state": selectors.skill_state(skill, runs[0] if runs else None),
            "active_artifact": artifact
            and {
                "dependency_hash": artifact.dependency_hash,
                "backend": artifact.backend,
                "reference": artifact.reference,
                "locked_versions": artifact.locked_versions,
            },
            "runs": [
                {
                    "id": run.pk,
                    "kind": run.kind,
                    "status": run.status,
                    "trigger": run.trigger,
                    "cache_hit": run.cache_hit,
                    "created_at": run.created_at.isoformat(),
                    "error": run.error,
                }
                for run in runs
            ],
            "conflicts": [
                {
                    "ecosystem": c.ecosystem,
                    "package": c.package,
                    "kind": c.kind,
                    "message": c.message,
                }
                for c in selectors.open_conflicts(skill)
            ],
        }
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2))
            return
        self.stdout.write(f"{skill.pk}: {status['state']}")
        if artifact:
            self.stdout.write(
                f"  environment: {artifact.reference} ({artifact.backend})"
            )
            for eco, versions in sorted((artifact.locked_versions or {}).items()):
                for name, version in sorted(versions.items()):
                    self.stdout.write(f"    {eco} {name}=={version}")
        for run in status["runs"]:
            self.stdout.write(
                f"  run {run['id']} {run['kind']} {run['status']} via {run['trigger']} "
                f"at {run['created_at']}" + (" (cache hit)" if run["cache_hit"] else "")
            )
        for conflict in status["conflicts"]:
            self.stdout.write(f"  conflict: {conflict['message']}")
