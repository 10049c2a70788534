from django.apps import AppConfig
from django.db.models.signals import post_migrate


def schedule_housekeeping(sender, **kwargs):
    """Have the worker look for stalled runs every minute."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="skillinstall: recover stalled runs",
        defaults={
            "func": "installs.tasks.recover_stalled_runs",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )


class InstallsConfig(AppConfig):
    name = "installs"
    verbose_name = "Skill installs"

    def ready(self):
        from . import checks  # noqa: F401  registers the system checks

        post_migrate.connect(schedule_housekeeping, sender=self)
