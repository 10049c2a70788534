from django.apps import AppConfig


class InstallsConfig(AppConfig):
    name = "installs"
    verbose_name = "Skill installs"

    def ready(self):
        from . import checks  # noqa: F401  registers the system checks
