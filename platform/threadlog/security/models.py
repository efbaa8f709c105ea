"""The record of sign-in lock-outs, for staff (Django admin: Security › Sign-in lock-outs)."""
from django.db import models


class LockOut(models.Model):
    """One lock-out: an account (or an IP) that failed to sign in too often and was refused for a while.

    The IP is kept only as the salted hash the rest of threadlog uses (api.identity.ip_hash)."""

    scope = models.CharField(max_length=40, help_text="which sign-in: admin, session, session-email, …")
    kind = models.CharField(max_length=10, choices=[("account", "account"), ("ip", "IP")])
    account = models.CharField(max_length=254, blank=True, help_text="the account as typed (account lock-outs)")
    ip_hash = models.CharField(max_length=64, blank=True)
    failures = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    until = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "sign-in lock-out"

    def __str__(self) -> str:
        who = self.account if self.kind == "account" else f"IP {self.ip_hash}"
        return f"{self.scope}: {who} until {self.until:%Y-%m-%d %H:%M:%S}"
