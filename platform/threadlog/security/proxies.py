"""TRUSTED_PROXIES: only a request that arrives from one of these networks may say, in X-Forwarded-For,
X-Forwarded-Proto and X-Forwarded-Host, who the client is, whether it used HTTPS and which host it asked for.

From anyone else those headers are removed before Django reads them, so a client cannot pick its own IP (to
escape the per-IP rate limit or the IP hash) or claim HTTPS (secure cookies, SECURE_PROXY_SSL_HEADER) or a host.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
              "HTTP_FORWARDED")


def parse_networks(text: str) -> tuple[Network, ...]:
    """`10.0.0.0/8,127.0.0.1` → networks; a bare address is a /32 (or /128). Raises ValueError on a bad entry."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


@lru_cache(maxsize=4096)
def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


def is_trusted(address: str | None) -> bool:
    networks = settings.TRUSTED_PROXIES
    return bool(address and networks) and _trusted(address, networks)


def client_address(remote: str, forwarded_for: str) -> str:
    """The client: walking X-Forwarded-For from the right (the nearest hop first), the first address that is not
    a trusted proxy. Entries left of it were written by the client and are not believed."""
    client = remote
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop.strip("[]"))
        except ValueError:
            break  # garbage: stop at the last good hop
        client = hop.strip("[]")
        if not is_trusted(client):
            break
    return client


class ProxyHeadersMiddleware:
    """First in MIDDLEWARE and API_MIDDLEWARE: rewrites REMOTE_ADDR from a trusted proxy's X-Forwarded-For (the
    rate limits and IP hashes read REMOTE_ADDR), keeps the nearest proxy's X-Forwarded-Proto/-Host (Django reads
    them through SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST), and drops all of them from anyone else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        meta = request.META
        if is_trusted(meta.get("REMOTE_ADDR")):
            forwarded_for = meta.get("HTTP_X_FORWARDED_FOR")
            if forwarded_for:
                meta["REMOTE_ADDR"] = client_address(meta["REMOTE_ADDR"], forwarded_for)
            for name in ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST"):
                if name in meta:  # a chain of proxies appends: the last value is the nearest (trusted) one's
                    meta[name] = meta[name].rsplit(",", 1)[-1].strip()
        else:
            for name in _FORWARDED:
                meta.pop(name, None)
        return self.get_response(request)
