"""Score formulas for the vote sorts (explained in docs/sorting.md)."""
from __future__ import annotations

import math
from datetime import datetime

WILSON_Z = 1.959964  # 95% confidence
HOT_EPOCH = 1_700_000_000  # 2023-11-14: any fixed instant works; only differences matter
HOT_HALF_LIFE_SECONDS = 45_000  # 12.5 hours of age weigh as much as a tenfold score


def wilson_lower_bound(up: int, down: int, z: float = WILSON_Z) -> float:
    n = up + down
    if n == 0:
        return 0.0
    phat = up / n
    z2 = z * z
    return (phat + z2 / (2 * n) - z * math.sqrt((phat * (1 - phat) + z2 / (4 * n)) / n)) / (1 + z2 / n)


def epoch_seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()  # Python 3.11 reads the trailing "Z" as UTC


def hot(score: int, created_at_iso: str) -> float:
    order = math.log10(max(abs(score), 1))
    sign = 1 if score > 0 else -1 if score < 0 else 0
    return round(sign * order + (epoch_seconds(created_at_iso) - HOT_EPOCH) / HOT_HALF_LIFE_SECONDS, 7)
