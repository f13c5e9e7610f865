from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Verity"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401  (registers system checks)
        from .roles import roles_ensure

        # Keep role permissions complete when later migrations add models.
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="verity-roles")
