from django.apps import AppConfig


class ThreadlogConfig(AppConfig):
    name = "threadlog"
    label = "threadlog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from threadlog.commands.handlers import on_appended
        from threadlog.live.publisher import notify_committed

        on_appended(notify_committed)
