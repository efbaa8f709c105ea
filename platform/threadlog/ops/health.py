"""How far the read model is behind the log: for /readyz and the projector-lag metrics."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from events.store import get_store
from projections.base import checkpoint


@dataclass
class Lag:
    head: int
    checkpoint: int
    seconds: float  # age of the oldest event not yet projected (0 when none is waiting)

    @property
    def events(self) -> int:
        return max(0, self.head - self.checkpoint)


def projector_lag() -> Lag:
    """Reads the database (raises if it is unreachable)."""
    store = get_store()
    head, done = store.head(), checkpoint()
    seconds = 0.0
    if head > done:
        waiting = store.read_all(done, 1)
        if waiting:
            recorded = datetime.strptime(waiting[0].recorded_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            seconds = max(0.0, (datetime.now(timezone.utc) - recorded).total_seconds())
    return Lag(head, done, seconds)
