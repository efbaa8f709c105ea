"""Event types: immutable, named by a stable `type` string and a schema `version`.

The stored name never depends on a Python class path, so classes may move freely. An event's meaning never
changes once written: a new meaning is a new version, and `upcast` lifts old rows to the newest version when
they are read.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

_REGISTRY: dict[str, type["Event"]] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}
_ADDS_NOTHING: set[tuple[str, int]] = set()  # upcasters that return the data as it is (`upcaster(adds_nothing=True)`)


class UnknownEventType(LookupError):
    pass


@dataclass(frozen=True)
class Event:
    """Base of every event type. Subclasses set `type` and `version` and are registered with @event."""

    type: ClassVar[str] = ""
    version: ClassVar[int] = 1
    # Fields of data that identify a person (email, who-did-it ids): hidden from public readers.
    personal: ClassVar[tuple[str, ...]] = ()

    def to_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Event":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def event(cls: type[Event]) -> type[Event]:
    """Register an event class under its stable type name (the newest version wins the name)."""
    if not cls.type:
        raise ValueError(f"{cls.__name__} has no type name")
    current = _REGISTRY.get(cls.type)
    if current is None or current.version < cls.version:
        _REGISTRY[cls.type] = cls
    return cls


def upcaster(type_name: str, from_version: int, *, adds_nothing: bool = False):
    """Register a function turning data of `from_version` into data of `from_version + 1`.

    `adds_nothing`: the function returns its data unchanged (a new version that only adds an optional field read
    through its default): readers may then skip it, and its copy of the data (`reads_as_is`)."""

    def wrap(fn: Callable[[dict[str, Any]], dict[str, Any]]):
        _UPCASTERS[(type_name, from_version)] = fn
        if adds_nothing:
            _ADDS_NOTHING.add((type_name, from_version))
        else:
            _ADDS_NOTHING.discard((type_name, from_version))
        return fn

    return wrap


def reads_as_is() -> dict[tuple[str, int], int]:
    """(type, stored version) -> current version, for every version whose upcasters all add nothing (and the
    current versions themselves): such data is read as stored, without a copy per upcaster (a rebuild reads every
    event of the log; a log written before CommentPosted v4 is mostly v3)."""
    out: dict[tuple[str, int], int] = {}
    for name, cls in _REGISTRY.items():
        out[(name, cls.version)] = cls.version
        version = cls.version - 1
        while version >= 1 and (name, version) in _ADDS_NOTHING:
            out[(name, version)] = cls.version
            version -= 1
    return out


def event_class(type_name: str) -> type[Event]:
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None


def upcast(type_name: str, version: int, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Lift stored data to the newest registered version of its type."""
    target = event_class(type_name).version
    while version < target:
        step = _UPCASTERS.get((type_name, version))
        if step is None:
            raise UnknownEventType(f"no upcaster for {type_name} v{version}")
        data = step(dict(data))
        version += 1
    return version, data


def public_data(type_name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The event's data without the fields that identify a person (for readers who are not staff)."""
    cls = _REGISTRY.get(type_name)
    hidden = cls.personal if cls else ()
    return {k: v for k, v in data.items() if k not in hidden}


def registered_types() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


# --- v1 types ----------------------------------------------------------------------------------------


@event
@dataclass(frozen=True)
class ThreadOpened(Event):
    type: ClassVar[str] = "ThreadOpened"
    version: ClassVar[int] = 1
    key: str
    title: str = ""


@dataclass(frozen=True)
class CommentPostedV1(Event):
    """CommentPosted as first written: the author's name and email in plain text. Read as v2 (upcast)."""

    type: ClassVar[str] = "CommentPosted"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("author_email", "author_id")
    comment_id: str
    body: str
    author_name: str
    author_id: str
    parent_id: str | None = None
    author_email: str | None = None


@event
@dataclass(frozen=True)
class CommentPosted(Event):
    """v2: the author's name and email are sealed with the author's key (events.people); erasable.

    `author_name`/`author_email` in plain text remain only for rows upcast from v1.
    """

    type: ClassVar[str] = "CommentPosted"
    version: ClassVar[int] = 2
    personal: ClassVar[tuple[str, ...]] = ("author_email", "author_id", "sealed_author")
    comment_id: str
    body: str
    author_id: str  # "guest:<token id>" or "user:<pk>": who may edit; the key's owner
    parent_id: str | None = None
    sealed_author: str | None = None  # sealed {"name", "email"} (events.sealing)
    author_name: str | None = None
    author_email: str | None = None

    def to_data(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _field_names(type(self))}  # all values are flat
        for legacy in ("author_name", "author_email"):  # plain text only in rows upcast from v1
            if data[legacy] is None:
                del data[legacy]
        return data


@upcaster("CommentPosted", 1)
def _comment_posted_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data.setdefault("sealed_author", None)
    return data


@event
@dataclass(frozen=True)
class CommentEdited(Event):
    type: ClassVar[str] = "CommentEdited"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("editor_id",)
    comment_id: str
    body: str
    editor_id: str


@event
@dataclass(frozen=True)
class CommentDeleted(Event):
    type: ClassVar[str] = "CommentDeleted"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("deleted_by",)
    comment_id: str
    deleted_by: str
    reason: str = ""


@event
@dataclass(frozen=True)
class PersonErased(Event):
    """A person's key was destroyed: projections show their sealed fields as erased from here on."""

    type: ClassVar[str] = "PersonErased"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("person",)
    person: str
    bodies: str = "kept"  # "kept" or "hidden": the fate of the person's comment bodies


@event
@dataclass(frozen=True)
class VoteCast(Event):
    type: ClassVar[str] = "VoteCast"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("voter",)
    comment_id: str
    voter: str
    value: int  # 1 up, -1 down, 0 retracts

    def __post_init__(self) -> None:
        if self.value not in (1, -1, 0):
            raise ValueError("VoteCast.value must be 1, -1 or 0")

from . import moderation as _moderation  # noqa: E402,F401  (registers the moderation events)

from . import formats as _formats  # noqa: E402,F401  (CommentPosted v3, CommentEdited v2: registered on import)
from . import imported as _imported  # noqa: E402,F401  ThreadOpened v2, VotesImported (imports)

from . import subscriptions as _subscriptions  # noqa: E402,F401  (registers its event types)
from . import anchors as _anchors  # noqa: E402,F401  (CommentPosted v4 with the passage it is anchored to)
