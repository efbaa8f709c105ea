from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    label = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .sql import bind_plainly

        bind_plainly()
