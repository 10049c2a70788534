"""Print an API token for a user, creating the user or granting rights first."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from installs.api.permissions import TRIGGER_PERMISSION


class Command(BaseCommand):
    help = (
        "Print the API token of USERNAME (made on first use). Only the token "
        "goes to stdout, so scripts can capture it."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", metavar="USERNAME")
        parser.add_argument(
            "--create",
            action="store_true",
            help="Create the user (with no password) if it does not exist.",
        )
        parser.add_argument("--staff", action="store_true", help="Make the user staff.")
        parser.add_argument(
            "--grant-trigger",
            action="store_true",
            help=f"Grant {TRIGGER_PERMISSION}: start installs, batches and "
            "rollbacks, and change skills.",
        )

    @transaction.atomic
    def handle(self, *args, username, create, staff, grant_trigger, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            if not create:
                raise CommandError(
                    f"User '{username}' does not exist; pass --create to make it."
                )
            # API users log in with their token; a password can be set later.
            user = User.objects.create_user(**{User.USERNAME_FIELD: username})
            self.stderr.write(f"Created user '{username}'.")

        if staff and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
            self.stderr.write(f"User '{username}' is now staff.")
        if grant_trigger:
            app_label, codename = TRIGGER_PERMISSION.split(".")
            user.user_permissions.add(
                Permission.objects.get(
                    content_type__app_label=app_label, codename=codename
                )
            )
            self.stderr.write(f"Granted {TRIGGER_PERMISSION} to '{username}'.")

        token, created = Token.objects.get_or_create(user=user)
        if created:
            self.stderr.write(f"Issued a new token for '{username}'.")
        self.stdout.write(token.key)
