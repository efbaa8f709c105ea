"""Fixtures of the event-log tests: the test event types, registered for one test at a time."""
from __future__ import annotations

import pytest

from events import types as event_types

from .probes import Probe, Unserialisable


@pytest.fixture(autouse=True)
def test_event_types():
    """Register the probe types for this test, then restore the global registry exactly as it was."""
    saved_types, saved_upcasters = dict(event_types._REGISTRY), dict(event_types._UPCASTERS)
    event_types.event(Probe)
    event_types.event(Unserialisable)
    yield
    event_types._REGISTRY.clear()
    event_types._REGISTRY.update(saved_types)
    event_types._UPCASTERS.clear()
    event_types._UPCASTERS.update(saved_upcasters)
