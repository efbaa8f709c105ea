"""HTML pieces of the audit pages that templates cannot draw well: word diffs (inline and side by side) and
the votes-over-time chart as inline SVG (no script, no library to serve; it prints and scales)."""
from __future__ import annotations

import difflib
import re

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

_TOKENS = re.compile(r"\s+|[^\s]+")


def _ops(before: str, after: str):
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    return a, b, difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def inline_diff(before: str, after: str) -> SafeString:
    """One text with removed words struck (<del>) and added words marked (<ins>): read top to bottom."""
    a, b, ops = _ops(before, after)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f'<del class="d-del">{escape("".join(a[i1:i2]))}</del>')
        if j2 > j1:
            out.append(f'<ins class="d-ins">{escape("".join(b[j1:j2]))}</ins>')
    return mark_safe(f'<div class="diff inline">{"".join(out)}</div>')


def side_by_side(before: str, after: str) -> SafeString:
    """Before (removals struck) and after (additions marked) next to each other; stacked on a narrow screen."""
    a, b, ops = _ops(before, after)
    left: list[str] = []
    right: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            text = escape("".join(a[i1:i2]))
            left.append(text)
            right.append(text)
            continue
        if i2 > i1:
            left.append(f'<del class="d-del">{escape("".join(a[i1:i2]))}</del>')
        if j2 > j1:
            right.append(f'<ins class="d-ins">{escape("".join(b[j1:j2]))}</ins>')
    return mark_safe('<div class="diff side"><div><h3>Before</h3><div class="body">' + "".join(left)
                     + '</div></div><div><h3>After</h3><div class="body">' + "".join(right) + "</div></div></div>")


def votes_chart(entries: list, width: int = 600, height: int = 160) -> SafeString:
    """Up, down and score after each vote, as a step chart. `entries`: the comment's history (HistoryEntry)."""
    votes: dict[str, int] = {}
    points: list[tuple[int, int, int, int]] = []  # (position, up, down, score)
    for e in entries:
        if e.vote is None:
            continue
        voter = e.summary.rsplit(" by ", 1)[-1]
        votes[voter] = e.vote
        up = sum(1 for v in votes.values() if v == 1)
        down = sum(1 for v in votes.values() if v == -1)
        points.append((e.position, up, down, up - down))
    if not points:
        return mark_safe("")
    pad_l, pad_r, pad_t, pad_b = 36, 10, 10, 24
    top = max(max(p[1], p[2], p[3]) for p in points)
    bottom = min(0, min(p[3] for p in points))
    span = max(top - bottom, 1)
    n = len(points)

    def x(i: int) -> float:  # from the posting (x(0)) no votes; vote i takes effect at x(i + 1); the right edge x(n + 1)
        return pad_l + (width - pad_l - pad_r) * i / (n + 1)

    def y(v: int) -> float:
        return pad_t + (height - pad_t - pad_b) * (top - v) / span

    def path(col: int) -> str:
        d = [f"M{pad_l:.1f},{y(0):.1f}H{x(1):.1f}"]
        for i, p in enumerate(points):
            d.append(f"V{y(p[col]):.1f}H{x(i + 2):.1f}")
        return "".join(d)

    series = [(1, "up", "#1a7f37", ""), (2, "down", "#c62828", ""), (3, "score", "#1d4ed8", ' stroke-dasharray="4 3"')]
    lines = "".join(f'<path d="{path(c)}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
                    f'<title>{name}</title></path>' for c, name, colour, dash in series)
    grid = "".join(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
                   f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
                   for v in sorted({top, bottom, 0}))
    last = points[-1]
    events = "1 vote event" if n == 1 else f"{n} vote events"
    summary = (f"Votes over time: {events}, now {last[1]} up, {last[2]} down, score {last[3]}; "
               f"the highest count was {top}.")
    legend = "".join(f'<span class="key {name}">{name}</span>' for _, name, _, _ in series)
    return format_html(
        '<figure class="chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}" >'
        '{}{}<text x="{}" y="{}">position {}</text><text x="{}" y="{}" text-anchor="end">position {}</text>'
        '</svg><figcaption><span class="legend">{}</span> {}</figcaption></figure>',
        width, height, summary, mark_safe(grid), mark_safe(lines), pad_l, height - 6, entries[0].position,
        width - pad_r, height - 6, last[0], mark_safe(legend), summary)
