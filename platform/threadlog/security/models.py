"""The record of sign-in lock-outs, for staff (Django admin: Security › Sign-in lock-outs)."""
from django.db import models


class LockOut(models.Model):
    """One lock-out: a client that failed to sign in too often and was refused for a while (threadlog.security
    .signin): an account from one IP (`pair`), an IP (`ip`), an account for every client without its device cookie
    (`account`), or one known device of an account (`device`).

    The IP is kept only as the salted hash the rest of threadlog uses (api.identity.ip_hash): for `ip` and `pair`
    the one locked out, for `account` and `device` the one of the failure that reached the limit."""

    KINDS = [("pair", "account from one IP"), ("ip", "IP"), ("account", "account (unknown devices)"),
             ("device", "account on a known device")]

    scope = models.CharField(max_length=40, help_text="which sign-in: admin, session, session-email, …")
    kind = models.CharField(max_length=10, choices=KINDS)
    account = models.CharField(max_length=254, blank=True, help_text="the account as typed (all but IP lock-outs)")
    ip_hash = models.CharField(max_length=64, blank=True)
    failures = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    until = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "sign-in lock-out"

    def __str__(self) -> str:
        who = f"IP {self.ip_hash}" if self.kind == "ip" else f"{self.account} ({self.get_kind_display()})"
        return f"{self.scope}: {who} until {self.until:%Y-%m-%d %H:%M:%S}"
