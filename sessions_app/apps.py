from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Verity"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_migrate, post_save, pre_save

        from config.celery import broker_folders_ensure

        from . import checks  # noqa: F401  (registers system checks)
        from .access.tokens import signals as token_signals
        from .lockouts import lockout_audit_connect
        from .roles import roles_ensure

        # The embedded broker's folders, wherever Verity runs (gunicorn, a
        # worker, a command), not only under `make run`.
        broker_folders_ensure()

        # Clearing a login lockout is audited, whoever clears it.
        lockout_audit_connect()

        # Keep role permissions complete when later migrations add models.
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="verity-roles")
        # A user's API tokens die on deactivation or a password change.
        user_model = get_user_model()
        pre_save.connect(
            token_signals.user_access_before_save,
            sender=user_model,
            dispatch_uid="verity-token-access-before",
        )
        post_save.connect(
            token_signals.user_access_after_save,
            sender=user_model,
            dispatch_uid="verity-token-access-after",
        )
