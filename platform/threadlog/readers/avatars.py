"""Identicons: an SVG drawn from an avatar name (projections.avatars), on our side, with no request elsewhere.

A 5×5 grid mirrored left to right (15 cells decided by bits of the name) in one colour on a pale ground of the
same hue. The colour's lightness is lowered until it stands out from the ground by at least MIN_CONTRAST (WCAG's
contrast ratio), so every hue reads well. The picture depends on the name alone: cacheable forever.
"""
from __future__ import annotations

import colorsys
import re
from functools import lru_cache

NAME = re.compile(r"\A[0-9a-f]{20}\Z")
MIN_CONTRAST = 4.5
GRID = 5


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def colours(name: str) -> tuple[str, str]:
    """(foreground, background) for a name: its hue, contrast at least MIN_CONTRAST."""
    hue = int(name[:4], 16) / 0xFFFF
    background = colorsys.hls_to_rgb(hue, 0.94, 0.55)
    lightness = 0.50
    foreground = colorsys.hls_to_rgb(hue, lightness, 0.60)
    while contrast(foreground, background) < MIN_CONTRAST and lightness > 0.05:
        lightness -= 0.02
        foreground = colorsys.hls_to_rgb(hue, lightness, 0.60)
    return _hex(foreground), _hex(background)


def cells(name: str) -> list[tuple[int, int]]:
    """The (column, row) of every filled cell: bits of the name fill the left three columns, mirrored right."""
    bits = int(name[4:], 16)
    filled = []
    for i in range(GRID * 3):
        if bits >> i & 1:
            col, row = divmod(i, GRID)
            filled.append((col, row))
            if col != GRID // 2:
                filled.append((GRID - 1 - col, row))
    if not filled:  # never a blank square
        filled.append((GRID // 2, GRID // 2))
    return sorted(filled)


@lru_cache(maxsize=2048)
def identicon_svg(name: str) -> str:
    fg, bg = colours(name)
    rects = "".join(f'<rect x="{1 + c}" y="{1 + r}" width="1" height="1"/>' for c, r in cells(name))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {GRID + 2} {GRID + 2}" width="64" height="64" '
            f'shape-rendering="crispEdges" role="img" aria-label="avatar">'
            f'<rect width="{GRID + 2}" height="{GRID + 2}" fill="{bg}"/><g fill="{fg}">{rects}</g></svg>')
