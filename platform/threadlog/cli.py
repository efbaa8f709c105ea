"""The `threadlog` command: serve, migrate, demo, events, projections, audit, notify. `threadlog --help` lists them."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from threadlog.server_tuning import SERVER_ENV


def _setup() -> None:
    platform_dir = str(Path(__file__).resolve().parent.parent)
    checkout = str(Path(platform_dir).parent)
    for p in (checkout, platform_dir):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadlog.settings")
    import django

    django.setup()


def _progress(total: int, label: str):
    """A rich progress bar fed with positions; returns (callback, context manager)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   transient=False, disable=not sys.stderr.isatty() and os.environ.get("PROGRESS") != "1")
    task = bar.add_task(label, total=total or 1)
    state = {"n": 0}

    def advance(position: int) -> None:
        state["n"] += 1
        if state["n"] % 1000 == 0 or state["n"] == total:
            bar.update(task, completed=state["n"])

    return advance, bar


def cmd_serve(args) -> int:
    from threadlog.serve import serve

    return serve(args.host, args.port, args.workers, access_log=args.access_log)


def cmd_migrate(args) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def cmd_createsuperuser(args) -> int:
    """Django's createsuperuser as it is (--noinput reads DJANGO_SUPERUSER_USERNAME, _PASSWORD and _EMAIL): a staff
    account for /admin/, /moderation and POST /api/session. Its errors end with exit status 1, no traceback."""
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["threadlog", "createsuperuser", *args.rest])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def cmd_demo(args) -> int:
    from events.store import THREAD_KEY
    from threadlog.commands import CommandError
    from threadlog.demo import load_demo

    if not THREAD_KEY.match(args.key):
        print(f"threadlog demo: {args.key!r} is not a thread key (1-200 of A-Z a-z 0-9 . _ ~ -)", file=sys.stderr)
        return 1
    try:
        loaded = load_demo(args.key)
    except CommandError as exc:
        print(f"threadlog demo: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    print(f"demo thread {args.key!r} {'loaded' if loaded else 'already present'}")
    return 0


def cmd_events_tail(args) -> int:
    from events.store import get_store

    store, after = get_store(), args.after
    while True:
        page = store.read_all(after, 1000)
        for ev in page:
            sys.stdout.write(json.dumps(ev.as_dict(), ensure_ascii=False) + "\n")
            after = ev.position
        sys.stdout.flush()
        if len(page) == 1000:
            continue
        if not args.follow:
            return 0
        time.sleep(args.interval)


def cmd_projections_run(args) -> int:
    from events.store import get_store
    from projections.base import run_once
    from projections.snapshots import ensure_all
    from events.chain import check as check_chain

    store = get_store()
    while True:
        reached = run_once(store)
        ensure_all(store)
        check_chain(store)  # keeps the audit pages' chain status current (only the new events)
        if not args.follow:
            print(f"projections current at position {reached}")
            return 0
        time.sleep(args.interval)


def cmd_projections_rebuild(args) -> int:
    from events.store import get_store
    from projections.online import drop_old_tables, rebuild_online
    from projections.rebuild import rebuild

    store = get_store()
    advance, bar = _progress(store.head(), "rebuild")
    started = time.perf_counter()
    stats: dict = {}
    with bar:
        if args.offline:  # the append lock held throughout (SQLite: the indexes get their own names back)
            head = rebuild(store, progress=advance, stats=stats)
        else:  # writes continue; a short lock for the switch (projections.online)
            head = rebuild_online(store, progress=advance, stats=stats, drop_old=False)
    seconds = time.perf_counter() - started
    print(f"rebuilt read models from {head} events in {seconds:.2f} s")
    if "catch_up_events" in stats:
        print(f"writes continued: {stats['catch_up_events']} events caught up in {stats['catch_up_rounds']} round(s),"
              f" {stats['applied_under_lock']} under the append lock, held {stats['lock_held_seconds']:.3f} s")
    print(f"frames changed in {stats['threads_reset']} thread(s): their connected readers are sent reset", flush=True)
    if not args.offline:  # SQLite: the switched-out tables, now that the new ones serve (projections.online)
        dropping = time.perf_counter()
        if drop_old_tables(store.using):
            print(f"old tables dropped in {time.perf_counter() - dropping:.2f} s")
    return 0


def cmd_projections_verify(args) -> int:
    from events.store import get_store
    from projections.rebuild import verify

    store = get_store()
    advance, bar = _progress(store.head(), "verify")
    with bar:
        difference = verify(store, progress=advance)
    if difference is not None:
        print(f"DIFFERENT: {difference}", file=sys.stderr)
        return 1
    print(f"live read model equals a rebuild from position 0 (head {store.head()})")
    return 0


def cmd_audit_verify(args) -> int:
    from events.audit import verify_chain
    from events.store import get_store

    store = get_store()
    advance, bar = _progress(store.head(), "verify chain")
    started = time.perf_counter()
    with bar:
        report = verify_chain(store, progress=advance)
    seconds = time.perf_counter() - started
    from events.chain import record_full

    record_full(store, report)  # the audit pages' status starts from this walk
    if not report.ok:
        print(str(report), file=sys.stderr)
        return 1
    rate = report.checked / seconds if seconds else 0
    print(f"{report} ({rate:,.0f} events/s)")
    return 0


def cmd_audit_head(args) -> int:
    from events.store import get_store

    head = get_store().head_record()
    print(json.dumps({"position": head.position, "hash": head.hash}))
    return 0


def cmd_audit_log(args) -> int:
    from events.audit import filter_events, resolve_point
    from events.store import get_store

    store = get_store()
    moment = _moment(args.until)  # a time: the events that had occurred by then (imports: their source time)
    events = filter_events(store, thread=args.thread, actor=args.actor, type=args.type,
                           after=resolve_point(store, args.after) or 0,
                           until=None if moment else resolve_point(store, args.until),
                           limit=None if moment else args.limit)
    if moment:
        from itertools import islice

        events = islice((ev for ev in events if ev.occurred_at <= moment), args.limit)
    if args.json:
        for ev in events:
            sys.stdout.write(json.dumps(ev.as_dict(), ensure_ascii=False) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("position", "recorded_at", "thread", "type", "actor", "what")
    for ev in events:
        what = ev.data.get("comment_id", ev.data.get("key", ""))
        if ev.type == "VoteCast":
            what = f"{what} value={ev.data.get('value')}"
        elif ev.data.get("reason"):  # moderation: why (the moderator is the actor)
            what = f"{what or ev.data.get('ban_id', '')} reason={ev.data['reason']!r}"
        table.add_row(str(ev.position), ev.recorded_at, ev.stream, ev.type, str(ev.metadata.get("actor", "")),
                      str(what))
    Console(width=200).print(table)
    return 0


def cmd_audit_comment(args) -> int:
    from events.audit import comment_history
    from events.store import get_store

    entries = comment_history(get_store(), args.comment_id)
    if not entries:
        print(f"no events for comment {args.comment_id}", file=sys.stderr)
        return 1
    for e in entries:
        print(f"#{e.position}  {e.recorded_at}  {e.type:<15} {e.summary}  [actor {e.actor}]")
        if e.diff:
            for line in e.diff.splitlines():
                print(f"        {line}")
    return 0


def cmd_audit_thread(args) -> int:
    from events.audit import resolve_point
    from events.store import get_store
    from projections.history import diff_states, render_tree, state_at

    from projections.occurred import state_at_time

    store = get_store()

    def state(point: str | None):  # a time: the events that had occurred by then (imports: their source time)
        moment = _moment(point)
        return state_at_time(store, args.key, moment) if moment else state_at(store, args.key,
                                                                               resolve_point(store, point))

    if args.diff:
        diff = diff_states(state(args.diff[0]), state(args.diff[1]))
        print(f"changes in {args.key} between {args.diff[0]} and {args.diff[1]}:")
        print("\n".join(diff.lines()))
        return 0
    print(render_tree(state(args.at), args.key))
    return 0


def _moment(point: str | None) -> str | None:
    """A point given as an ISO time (not a position), in the log's form; exits 1 with a message if unreadable."""
    if not point or point.isdigit():
        return None
    from projections.occurred import BadTime, parse_moment

    try:
        return parse_moment(point)
    except BadTime as exc:
        raise SystemExit(f"threadlog: {exc}") from None


def cmd_export(args) -> int:
    from events.audit import export_lines
    from events.people import KeyRing, export_keys, reveal
    from events.store import get_store

    store = get_store()
    if args.keys:
        try:
            with open(args.keys, "w", encoding="utf-8") as fh:
                json.dump(export_keys(), fh)
        except OSError as exc:
            print(f"threadlog export: cannot write the keys to {args.keys}: {exc.strerror}", file=sys.stderr)
            return 1
    keys = KeyRing(preload=True) if args.readable else None
    advance, bar = _progress(store.head(), "export")
    with bar:
        for line in export_lines(store, progress=advance):
            if keys is not None:
                line = json.dumps(reveal(json.loads(line), keys), ensure_ascii=False, sort_keys=True)
            sys.stdout.write(line + "\n")
    return 0


def cmd_erase_person(args) -> int:
    from threadlog.commands import Actor, CommandError, ErasePerson, handle

    try:
        from django.conf import settings

        bodies = args.bodies or settings.THREADLOG["ERASED_BODIES"]
        result = handle(ErasePerson(person=args.person, bodies=bodies), Actor("system:cli", is_staff=True))
    except CommandError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return 1
    print(f"erased {args.person} (bodies {bodies}); PersonErased at position {result.position}")
    return 0


def cmd_import(args) -> int:
    from events.audit import ImportRefused, import_rows, parse_export
    from events.store import get_store
    from projections.rebuild import rebuild

    store = get_store()
    try:
        with open(args.file, encoding="utf-8") as fh:
            rows = parse_export(fh)
        if args.keys:
            from events.people import import_keys

            with open(args.keys, encoding="utf-8") as fh:
                keys = json.load(fh)
        advance, bar = _progress(len(rows), "import")
        with bar:
            n = import_rows(store, rows, progress=advance)
        if args.keys:
            import_keys(keys)
    except (ImportRefused, OSError) as exc:
        print(f"import refused: {exc}", file=sys.stderr)
        return 1
    rebuild(store)
    print(f"imported {n} events; projections rebuilt; head {store.head()}")
    return 0


def cmd_check(args) -> int:
    from threadlog.security.checks import run

    return run(sys.stdout)


def cmd_notify(args) -> int:
    from threadlog.notifications.cli import notify

    return notify(args)


class ExitOneParser(argparse.ArgumentParser):
    """argparse, but a usage error exits with status 1 like every other bad input of the CLI (argparse's is 2).
    Sub-commands' parsers are made by the same class (add_subparsers uses the parser's own class)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from threadlog.environment import help_text

    parser = ExitOneParser(prog="threadlog", description="An event-sourced comment section with live updates.",
                           epilog=help_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="serve the app with daphne (HOST/PORT from the environment)")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")),
                   help="daphne processes sharing the port (default 1, or WORKERS); use REDIS_URL with more than 1")
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction,
                   default=os.environ.get("ACCESS_LOG", "1") not in ("0", "false", "no", "off"),
                   help="one line per request on stdout (default on, or ACCESS_LOG=0)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or update the database tables")
    p.add_argument("--verbosity", type=int, default=1)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("createsuperuser", add_help=False,
                       help="create a staff account (Django's command: --noinput with DJANGO_SUPERUSER_* variables)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="Django's createsuperuser options (see --help)")
    p.set_defaults(func=cmd_createsuperuser)

    p = sub.add_parser("demo", help="load the demo thread (once)")
    p.add_argument("--key", default="demo")
    p.set_defaults(func=cmd_demo)

    events = sub.add_parser("events", help="read the event log").add_subparsers(dest="sub", required=True, metavar="SUB")
    p = events.add_parser("tail", help="print events after a position as JSON lines")
    p.add_argument("--after", type=int, default=0, help="print events with position > AFTER")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    p.add_argument("--interval", type=float, default=0.5)
    p.set_defaults(func=cmd_events_tail)

    proj = sub.add_parser("projections", help="run, rebuild or verify the read models").add_subparsers(
        dest="sub", required=True, metavar="SUB")
    p = proj.add_parser("run", help="catch the read models up with the log")
    p.add_argument("--follow", "-f", action="store_true", help="keep running (the projector service)")
    p.add_argument("--interval", type=float, default=0.5)
    p.set_defaults(func=cmd_projections_run)
    p = proj.add_parser("rebuild", help="rebuild every read model from position 0 (writes continue)")
    p.add_argument("--offline", action="store_true",
                   help="hold the append lock throughout, in place (on SQLite: gives the indexes their own names back)")
    p.set_defaults(func=cmd_projections_rebuild)
    p = proj.add_parser("verify", help="replay into scratch and compare with the live read model")
    p.set_defaults(func=cmd_projections_verify)

    audit = sub.add_parser("audit", help="verify the hash chain and replay the history").add_subparsers(
        dest="sub", required=True, metavar="SUB")
    p = audit.add_parser("verify", help="walk the hash chain; exit 1 naming the first altered/deleted/reordered position")
    p.set_defaults(func=cmd_audit_verify)
    p = audit.add_parser("head", help="print the head position and hash (anchor it elsewhere)")
    p.set_defaults(func=cmd_audit_head)
    p = audit.add_parser("log", help="the events, filtered, as a table or JSON lines")
    p.add_argument("--thread", help="thread key")
    p.add_argument("--actor", help="actor id, e.g. guest:abc or user:1")
    p.add_argument("--type", help="event type, e.g. CommentPosted")
    p.add_argument("--after", default="0", help="position (exclusive)")
    p.add_argument("--until", help="position, or ISO time: the events that had occurred by then (inclusive; "
                   "imported events at their source time, occurred_at)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    p.set_defaults(func=cmd_audit_log)
    p = audit.add_parser("comment", help="one comment's whole history: posted, edits with diffs, votes, deletion")
    p.add_argument("comment_id")
    p.set_defaults(func=cmd_audit_comment)
    p = audit.add_parser("thread", help="a thread as it stood at a position or time, or the diff of two points")
    p.add_argument("key")
    p.add_argument("--at", help="position, or ISO time by when events occurred (imported: source time) (default: now)")
    p.add_argument("--diff", nargs=2, metavar=("P1", "P2"), help="what changed between two positions/times")
    p.set_defaults(func=cmd_audit_thread)

    p = sub.add_parser("export", help="write the log as JSON lines (hashes included) to stdout")
    p.add_argument("--keys", metavar="FILE", help="also write the people's keys (kept apart from the log) to FILE")
    p.add_argument("--readable", action="store_true",
                   help="open sealed personal fields ([erased] where the key is gone); such a file is not importable")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("import", help="load an export into an empty store (refused if its chain does not verify)")
    p.add_argument("file")
    p.add_argument("--keys", metavar="FILE", help="the people's keys written by export --keys")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("erase-person", help="destroy a person's key: their name, email and IP hash read [erased]")
    p.add_argument("person", help='the actor id, e.g. "guest:AbC…" or "user:3" (see audit log)')
    p.add_argument("--bodies", choices=["kept", "hidden"], default=None,
                   help="what happens to their comment bodies (default: the ERASED_BODIES setting)")
    p.set_defaults(func=cmd_erase_person)

    p = sub.add_parser("check", help="what is still unsafe for production (Django's deploy checks and ours); exit 1 if any")
    p.set_defaults(func=cmd_check)
    from threadlog.imports.command import add_parser as add_import_comments

    add_import_comments(sub)

    from threadlog.notifications.cli import add_parser as add_notify_parser

    add_notify_parser(sub, cmd_notify)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["createsuperuser"]:  # Django parses its own options (argparse would take them as ours)
        _setup()
        return cmd_createsuperuser(argparse.Namespace(rest=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.func is cmd_serve:  # before the settings load: they differ a little for a server (server_tuning.py)
        os.environ[SERVER_ENV] = "1"
        os.environ["HOST"], os.environ["PORT"] = args.host, str(args.port)  # SITE_URL's default: where it serves
    _setup()
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `threadlog events tail | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
