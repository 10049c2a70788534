"""Remove environments that no skill uses, least recently used first."""

import argparse

from django.core.management.base import BaseCommand

from installs import services


def _count(text):
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return value


class Command(BaseCommand):
    help = "Remove unused environments, least recently used first; never one in use."

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-last",
            type=_count,
            metavar="N",
            help="Keep the N most recently used unused environments.",
        )
        parser.add_argument(
            "--max-bytes",
            type=_count,
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
