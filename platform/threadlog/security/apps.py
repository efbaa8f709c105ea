from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "threadlog.security"
    label = "threadlog_security"
    verbose_name = "Security"
    default_auto_field = "django.db.models.BigAutoField"
