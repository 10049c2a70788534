"""Roll a skill back to the environment of an earlier successful run."""

from django.core.management.base import BaseCommand, CommandError

from installs import services
from installs.exceptions import SkillInstallError
from installs.models import Trigger


class Command(BaseCommand):
    help = "Re-activate the environment of an earlier successful run of a skill."

    def add_arguments(self, parser):
        parser.add_argument("skill_id", metavar="SKILL_ID")
        parser.add_argument(
            "--to", type=int, metavar="RUN", help="The run to roll back to."
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Rebuild here if the environment was pruned.",
        )

    def handle(self, *args, **options):
        try:
            run = services.rollback_skill(
                skill_id=options["skill_id"],
                to_run=options["to"],
                trigger=Trigger.CLI,
                enqueue=not options["wait"],
            )
        except SkillInstallError as exc:
            raise CommandError(exc.message)
        if options["wait"] and run.in_flight:
            run = services.execute_run(run.pk)
        self.stdout.write(
            f"{options['skill_id']}: run {run.pk} {run.status}, "
            f"environment of run {run.rollback_to_id}"
        )
        if run.status not in (run.Status.ROLLED_BACK, run.Status.QUEUED):
            raise CommandError(run.error or f"Rollback ended {run.status}.")
