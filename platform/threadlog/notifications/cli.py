"""`threadlog notify`: run the notifier and the sender once or for good (`--follow`, the `notifier` service),
`status` (the outbox: pending, retrying, sent, given up), `rebuild` (its read model from position 0, sending
nothing again). Imported by threadlog.cli without Django set up: the work happens in `notify`."""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys


def add_parser(sub, func) -> None:
    p = sub.add_parser("notify", help="decide and send e-mail notifications (once, or --follow as a service); status",
                       description="Run the notifier (who gets which message, written to the outbox) and the sender "
                                   "(SMTP via EMAIL_URL, else files in var/mail/). `threadlog serve` runs both itself "
                                   "unless NOTIFIER=off.")
    p.add_argument("--follow", "-f", action="store_true",
                   help="keep running (the notifier service; set NOTIFIER=off on the web nodes)")
    p.add_argument("--interval", type=float, default=None, help="seconds between looks at the log (NOTIFY_POLL_SECONDS)")
    p.add_argument("--json", action="store_true", help="status: print JSON")
    p.add_argument("action", nargs="?", choices=["run", "status", "rebuild"], default="run",
                   help="run (default): decide and send what is due; status: the outbox and the notifier's lag, exit 1 "
                        "if messages were given up; rebuild: the notifier's read model from position 0, sending nothing")
    p.set_defaults(func=func)


def notify(args: argparse.Namespace) -> int:
    from events.store import get_store

    from . import notifier, runner
    from .sender import status

    store = get_store()
    if args.action == "status":
        report = status(store)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            _print_status(report)
        return 1 if report["failed"] else 0
    if args.action == "rebuild":
        n = notifier.rebuild(store)
        print(f"notifier read model rebuilt from {n} events; nothing was sent again")
        return 0
    if not args.follow:
        decided, sent = runner.run_round(store)
        print(f"notifier: {decided} events decided on, {sent} messages sent")
        return 0
    started = f"threadlog notify: following the log (pid {os.getpid()})"
    if os.environ.get("LOG_FORMAT", "text") == "json":  # every line on the logs is then one JSON object
        logging.getLogger("threadlog.notifications").info(started)
    else:
        print(started, file=sys.stderr, flush=True)
    follower = runner.Runner(poll=args.interval)
    from threadlog.server_tuning import freeze_heap

    freeze_heap()  # a long-lived process: full collections need not walk Django's start-up objects every time
    signal.signal(signal.SIGTERM, lambda *_: follower.request_stop())  # finish the message in flight, then end
    try:
        follower.follow()
    except KeyboardInterrupt:
        pass
    return 0


def _print_status(r: dict) -> None:
    lag = r["head"] - r["checkpoint"]
    print(f"notifier   at position {r['checkpoint']} of {r['head']}" + (f" ({lag} behind)" if lag else " (current)"))
    print(f"outbox     {r['pending']} pending ({r['retrying']} retrying), {r['sent']} sent, "
          f"{r['failed']} given up after {r['max_attempts']} attempts or bounced, {r['dropped']} dropped")
    if r["oldest_pending"]:
        print(f"oldest pending since {r['oldest_pending']}")
    for item in r["retries"]:
        print(f"  retrying #{item['id']} {item['kind']}: attempt {item['attempts']}, next at {item['next_attempt']}: "
              f"{item['error']}")
    for item in r["recent_failures"]:
        print(f"  GAVE UP  #{item['id']} {item['kind']} ({item['thread']}) after {item['attempts']} attempts: "
              f"{item['error']}")
