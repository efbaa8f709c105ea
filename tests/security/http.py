"""A raw HTTP client for the defence tests: any Host header, any method, and a chosen source address on the
loopback range (127.0.0.2 plays a trusted proxy, 127.0.0.1 anyone else)."""
from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def cookies(self) -> dict[str, str]:
        """Set-Cookie headers by name, whole (attributes included)."""
        found = {}
        for raw in self.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name in jar:
                found[name] = raw
        return found


@dataclass
class Http:
    base: str
    source: str = "127.0.0.1"
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None,
                form: dict[str, str] | None = None) -> Answer:
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30, source_address=(self.source, 0))
        sent = {"Host": parts.netloc, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
            sent.setdefault("Origin", self.base)
        elif form is not None:
            from urllib.parse import urlencode

            data = urlencode(form).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
            sent.setdefault("Origin", self.base)
            sent.setdefault("Referer", self.base + path)
        if data is not None:
            sent["Content-Length"] = str(len(data))
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in sent.items():
                conn.putheader(name, value)
            conn.endheaders(data)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        for header in resp.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return Answer(resp.status, resp.headers, raw)

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)

    def head(self, path: str, **kw) -> Answer:
        return self.request("HEAD", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> Answer:
        return self.request("POST", path, body=body, **kw)
