from django.contrib import admin

from .models import LockOut


@admin.register(LockOut)
class LockOutAdmin(admin.ModelAdmin):
    """Read-only: lock-outs are recorded by the throttle (threadlog.security.signin), never edited by hand."""

    list_display = ("started_at", "scope", "kind", "account", "ip_hash", "failures", "until")
    list_filter = ("scope", "kind")
    search_fields = ("account", "ip_hash")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
