"""Create or update skills from manifest files, all or nothing per file."""

from django.core.management.base import BaseCommand, CommandError

from installs import services
from installs.exceptions import SkillInstallError


class Command(BaseCommand):
    help = "Create or update skills from JSON manifests; each file is all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")

    def handle(self, *args, **options):
        failed = 0
        for path in options["paths"]:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                self.stderr.write(f"{path}: cannot be read: {exc.strerror}.")
                failed += 1
                continue
            try:
                result = services.import_manifest(data, source=path)
            except SkillInstallError as exc:
                self.stderr.write(exc.message)
                failed += 1
                continue
            self.stdout.write(
                f"{path}: {len(result.created)} created, {len(result.updated)} updated, "
                f"{len(result.unchanged)} unchanged."
            )
        if failed:
            raise CommandError(f"{failed} of {len(options['paths'])} file(s) rejected.")
