"""docker-compose.yml puts a proxy in front of the web nodes (validated offline, as tests/events/test_compose.py
does): Caddy reverse-proxying to every web node, round robin (no sticky sessions), WebSockets through, and nodes
that believe forwarded headers from the proxy's fixed address only."""
from __future__ import annotations

import ipaddress
import json
import re
import subprocess

from tests.events.test_compose import ROOT, compose

CADDYFILE = ROOT / "deploy" / "Caddyfile"


def resolved() -> dict:
    done = compose("config")
    assert done.returncode == 0, done.stderr
    # docker-compose (Debian's) runs on the system Python, which has PyYAML; the test venv does not need it
    parsed = subprocess.run(["/usr/bin/python3", "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load("
                             "sys.stdin)))"], input=done.stdout, capture_output=True, text=True, check=True)
    return json.loads(parsed.stdout)


def test_a_proxy_fronts_every_web_node_without_sticky_sessions():
    config = resolved()
    services = config["services"]
    webs = sorted(name for name, s in services.items() if "serve" in (s.get("command") or []))
    assert len(webs) >= 2, webs
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy")
    assert {p["target"] if isinstance(p, dict) else int(str(p).split(":")[-1].split("/")[0])
            for p in proxy["ports"]} >= {80, 443}
    assert any("Caddyfile" in str(v) for v in proxy["volumes"])
    caddy = CADDYFILE.read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddy).group(1).split()
    assert sorted(u.split(":")[0] for u in upstreams) == webs
    body = re.sub(r"#.*", "", caddy)
    assert "lb_policy round_robin" in body
    for sticky in ("cookie", "ip_hash", "client_ip_hash", "header"):
        assert f"lb_policy {sticky}" not in body
    # the web nodes are not published to the world, only to this host
    for name in webs:
        for port in services[name].get("ports", []):
            published = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert published == "127.0.0.1", (name, port)


def test_nodes_trust_only_the_proxy_address_and_know_the_public_https_url():
    config = resolved()
    services = config["services"]
    proxy_ip = ipaddress.ip_address(services["proxy"]["networks"]["default"]["ipv4_address"])
    for name, service in services.items():
        if "serve" not in (service.get("command") or []):
            continue
        env = service["environment"]
        trusted = [ipaddress.ip_network(n) for n in env["TRUSTED_PROXIES"].split(",")]
        assert any(proxy_ip in n for n in trusted)
        assert all(n.num_addresses == 1 for n in trusted), "trust the proxy, not the whole network"
        assert env["SITE_URL"].startswith("https://")
