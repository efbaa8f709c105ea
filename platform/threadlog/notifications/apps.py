from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "threadlog.notifications"
    label = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from threadlog.commands.handlers import on_appended

        from . import commands, runner  # noqa: F401  (commands registers its handlers)

        on_appended(runner.wake)  # a commit in a process that runs a notifier (a test, the CLI) wakes it at once
