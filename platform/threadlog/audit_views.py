"""The auditors' workbench (staff only, Django login): the event list with filters, paging and export; a
thread at any point with the step's diff; one comment's history; one actor's doings; the chain's status on
every page and a form to check an anchored head. They read the log; the only thing written is the chain
checkpoint (events.chain), a cache of the verification.

Each page is a module-level function of plain values (the query as a dict, the URL's arguments) answering an
`Answer` of plain values, so that it can be computed away from the request thread (a history process); the
staff check and the HttpResponse happen in the view."""
from __future__ import annotations

from functools import wraps
from typing import Callable, NamedTuple

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from events.audit import comment_history, position_at_time
from events.chain import check, compare_anchor
from events.describe import describe
from events.people import KeyRing, is_erased, reveal
from events.store import THREAD_KEY, get_store
from projections.history import position_of_step, step_at
from projections.history_index import posted_at, tree_at
from threadlog.serving import expensive

from .audit_render import inline_diff, side_by_side, votes_chart
from .audit_search import EventFilter, actor_summary, event_types, export_csv, export_jsonl, page

PAGE = 50
TREE_ROOTS = 20  # top-level comments (each with its replies) per page of the thread's tree
TREE_ROWS = 200  # comments drawn at most on one page of the tree


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class Answer(NamedTuple):
    body: str
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    filename: str = ""  # a download's name


def _page(template: str, context: dict, status: int = 200) -> Answer:
    """Every audit page carries the chain's status (checked for the events added since the last check)."""
    context.setdefault("chain", check(get_store()))
    return Answer(render_to_string(f"threadlog/audit/{template}", context), status)


def _view(page: Callable[..., Answer]) -> Callable[..., HttpResponse]:
    """The staff-only view answering with `page(query, **url_args)`."""

    @staff_member_required
    @wraps(page)
    def view(request: HttpRequest, **url_args: str) -> HttpResponse:
        try:
            answer = expensive.offload("audit", page, request.GET.dict(), **url_args)
        except expensive.Busy as exc:
            return expensive.busy_response(exc)
        response = HttpResponse(answer.body, content_type=answer.content_type, status=answer.status)
        if answer.filename:
            response["Content-Disposition"] = f'attachment; filename="{answer.filename}"'
        return response

    return view


def _rows(events, keys: KeyRing) -> list[dict]:
    out = []
    for ev in events:
        data = reveal(ev.as_dict(), keys)["data"] if ev.type == "CommentPosted" else ev.data
        out.append({"ev": ev, "what": describe(ev, data), "actor": ev.metadata.get("actor", ""),
                    "comment_id": ev.data.get("comment_id") if isinstance(ev.data.get("comment_id"), str) else ""})
    return out


def audit_log_page(q: dict[str, str]) -> Answer:
    store = get_store()
    flt = EventFilter.from_query(q)
    errors = flt.errors()
    fmt = q.get("format", "")
    if fmt in ("jsonl", "csv") and not errors:
        body = "".join(export_jsonl(store, flt) if fmt == "jsonl" else export_csv(store, flt))
        kind = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        return Answer(body, 200, f"{kind}; charset=utf-8", f"threadlog-events.{fmt}")
    before = _int(q.get("before"))
    after = _int(q.get("after")) or 0
    size = min(max(_int(q.get("size")) or PAGE, 5), 500)
    flt_paged = dict(size=size) if size != PAGE else {}
    result = page(store, flt, after=after, before=before, size=size)
    return _page("log.html", {
        "rows": _rows(result.events, KeyRing(store.using)), "filters": flt, "errors": errors,
        "types": event_types(flt.type), "head": store.head(), "size": size if size != PAGE else None,
        "next_query": flt.query(after=result.newer, **flt_paged) if result.newer else "",
        "prev_query": flt.query(before=result.older, **flt_paged) if result.older else "",
        "first_query": flt.query(**flt_paged), "last_query": flt.query(before=store.head() + 1, **flt_paged),
        "export_jsonl": flt.query(format="jsonl"), "export_csv": flt.query(format="csv"),
    }, status=400 if errors else 200)


def audit_comment_page(q: dict[str, str], comment_id: str) -> Answer:
    entries = comment_history(get_store(), comment_id)
    view = "side" if q.get("view") == "side" else "inline"
    draw = side_by_side if view == "side" else inline_diff
    for e in entries:
        e.html = draw(e.before, e.after) if e.type == "CommentEdited" else None
    thread = entries[0].stream if entries else ""
    return _page("comment.html", {
        "comment_id": comment_id, "entries": entries, "view": view, "thread": thread,
        "chart": votes_chart(entries), "votes": sum(1 for e in entries if e.vote is not None),
    }, status=200 if entries else 404)


def audit_thread_page(q: dict[str, str], key: str) -> Answer:
    store = get_store()
    if not THREAD_KEY.match(key):
        return _page("thread.html", {"key": key, "step": None, "errors": []}, status=404)
    errors: list[str] = []
    at = _int(q.get("at"))
    when = (q.get("time") or "").strip()
    if q.get("at") and at is None:
        errors.append(f"at: {q.get('at')!r} is not a position")
    if when:
        try:
            at = position_at_time(store, when)
        except ValueError:
            errors.append(f"time: {when!r} is not a date and time (e.g. 2026-03-03T14:05)")
    number = _int(q.get("step"))
    if number is not None and at is None:
        at = position_of_step(store, key, number)
    step = step_at(store, key, at)
    if step is None:
        return _page("thread.html", {"key": key, "step": None, "errors": errors}, status=404)
    position = step.event.position
    changed = {c.comment.id for c in step.changes if c.comment is not None}
    changes = [{"c": c, "html": inline_diff(c.before, c.after) if c.kind == "edited" else None}
               for c in step.changes]
    start, back = _int(q.get("from")), q.get("back") == "1"
    tree = tree_at(store, key, position, start=start or 0, back=back and bool(start), roots=TREE_ROOTS,
                   limit=TREE_ROWS)
    if start is None and changed:  # the first page, unless the branch this step changed is further on: then that
        root = next(c.comment for c in step.changes if c.comment is not None).root_id
        if tree.roots_after and root not in {row.id for row, depth in tree.rows if depth == 0}:
            tree = tree_at(store, key, position, start=posted_at(store, key, root), roots=TREE_ROOTS, limit=TREE_ROWS)
    tree_link = f"?at={position}&from="
    return _page("thread.html", {
        "key": key, "step": step, "ev": step.event, "changes": changes, "thread": step.thread, "errors": errors,
        "tree": [{"row": row, "depth": depth, "changed": row.id in changed} for row, depth in tree.rows],
        "tree_cut": tree.cut, "changes_comment": bool(changed),
        "tree_earlier": f"{tree_link}{tree.roots_before}&back=1#tree-h" if tree.roots_before else "",
        "tree_later": f"{tree_link}{tree.roots_after}#tree-h" if tree.roots_after else "",
        "tree_start": f"?at={position}&from=0#tree-h" if tree.roots_before else "",
        "before_first": at is not None and at < step.first, "time_value": step.event.recorded_at[:19],
    }, status=400 if errors else 200)


def audit_actor_page(q: dict[str, str], actor: str) -> Answer:
    store = get_store()
    summary = actor_summary(store, actor)
    flt = EventFilter(actor=actor)
    before = _int(q.get("before"))
    after = _int(q.get("after")) or 0
    result = page(store, flt, after=after, before=before, size=PAGE)
    person = actor.split(":", 1)[0] in ("guest", "user")
    keys = KeyRing(store.using)
    name = ""
    erased = person and is_erased(actor, using=store.using)
    if person and not erased:
        for ev in result.events:
            if ev.type == "CommentPosted":
                name = reveal(ev.as_dict(), keys)["data"].get("author_name") or ""
                break
    base = f"/audit/actor/{actor}"
    return _page("actor.html", {
        "actor": actor, "summary": summary, "rows": _rows(result.events, keys), "erased": erased, "name": name,
        "log_query": flt.query(), "base": base,
        "next_query": f"after={result.newer}" if result.newer else "",
        "prev_query": f"before={result.older}" if result.older else "",
    }, status=200 if summary.total else 404)


def audit_chain_page(q: dict[str, str]) -> Answer:
    """The chain's status in full, and the anchor form: does the log still hold this (position, hash)?"""
    store = get_store()
    status = check(store)
    position, hash_ = q.get("position", "").strip(), q.get("hash", "").strip()
    result = error = None
    if position or hash_:
        if not position.isdigit() or int(position) < 1:
            error = "position: a whole number from 1 (the head's position, as printed by `threadlog audit head`)"
        elif len(hash_) != 64 or any(ch not in "0123456789abcdefABCDEF" for ch in hash_):
            error = "hash: 64 hexadecimal characters (the head's hash, as copied)"
        else:
            result = compare_anchor(store, int(position), hash_, status)
    return _page("chain.html", {
        "chain": status, "head": store.head_record(), "position": position, "hash": hash_, "result": result,
        "error": error,
    }, status=400 if error else 200)


audit_log = _view(audit_log_page)
audit_comment = _view(audit_comment_page)
audit_thread = _view(audit_thread_page)
audit_actor = _view(audit_actor_page)
audit_chain = _view(audit_chain_page)
