"""Check skills for direct version conflicts, on their own or as one batch."""

import json

from django.core.management.base import BaseCommand

from installs import services
from installs.exceptions import SkillInstallError


class Command(BaseCommand):
    help = (
        "Check skills for version conflicts. Exit 0: none; 1: conflicts (listed "
        "and recorded); 2: bad input."
    )

    def add_arguments(self, parser):
        parser.add_argument("skill_ids", nargs="*", metavar="SKILL_ID")
        parser.add_argument(
            "--shared", action="store_true", help="Check the skills as one environment."
        )
        parser.add_argument(
            "--constraints", metavar="FILE", help="Python constraints file."
        )
        parser.add_argument(
            "--npm-constraints",
            metavar="FILE",
            help="npm constraints (JSON name to range).",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, **options):
        try:
            result = services.check_skill_conflicts(
                skill_ids=options["skill_ids"] or None,
                shared=options["shared"],
                python_constraints_path=options["constraints"],
                npm_constraints_path=options["npm_constraints"],
            )
        except SkillInstallError as exc:
            self.stderr.write(exc.message)
            raise SystemExit(2)

        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "conflicts": [report.as_dict() for report in result.conflicts],
                        "checked": result.checked,
                    },
                    indent=2,
                )
            )
        else:
            for report in result.conflicts:
                self.stdout.write(f"[{report.kind}] {report.message}")
            self.stdout.write(
                f"Checked {result.checked} skill(s): {len(result.conflicts)} conflict(s)."
            )
        if result.conflicts:
            raise SystemExit(1)
