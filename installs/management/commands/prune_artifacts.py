"""Remove environments that no skill uses, least recently used first."""

from django.core.management.base import BaseCommand

from installs import services


class Command(BaseCommand):
    help = "Remove unused environments, least recently used first; never one in use."

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-last",
            type=int,
            metavar="N",
            help="Keep the N most recently used unused environments.",
        )
        parser.add_argument(
            "--max-bytes",
            type=int,
            metavar="B",
            help="Remove unused environments until all fit in B bytes.",
        )

    def handle(self, *args, **options):
        result = services.prune_artifacts(
            keep_last=options["keep_last"], max_bytes=options["max_bytes"]
        )
        for artifact in result.removed:
            self.stdout.write(
                f"removed {artifact.reference} ({artifact.size_bytes} bytes)"
            )
        self.stdout.write(
            f"{len(result.removed)} environment(s) removed, {result.freed_bytes} bytes "
            f"freed, {result.kept} kept."
        )
