"""Records: kneeflags' value classes, slotted dataclasses with shared repr, equality and hash.

Why not plain ``@record``: :mod:`dataclasses` writes the source text of
every method it adds and compiles it (``exec``) when the class is created, and kneeflags
defines about a hundred such classes that a command imports before it does anything.
Compiling their ``__repr__``, ``__eq__`` and ``__hash__`` was about 7 % of the instructions of
a warm ``kneeflags analyze`` (issue 15; callgrind, 1.36 G → 1.26 G instructions). Those three
methods do the same thing in every class (the fields as one tuple), so one shared function
of each serves all records. ``__init__`` and the frozen guard still come from
:mod:`dataclasses`: construction, ``dataclasses.fields``/``replace``/``asdict``, pickling
and type checkers (:func:`typing.dataclass_transform`) see an ordinary dataclass.

Behaviour is the dataclass one, to the letter (``tests/test_records.py`` compares them):

* ``repr``: ``ClassName(field=value!r, ...)`` with the class's qualified name, ``...`` for
  a record that contains itself;
* ``==``: equal when ``other`` is of the very same class and the field tuples are equal
  (``NotImplemented`` otherwise, so ``a == b`` falls back to identity);
* ``hash``: ``hash`` of the field tuple for a frozen record; a mutable record is
  unhashable, as a mutable dataclass with ``eq=True`` is.

A method the class body defines itself is kept, as :mod:`dataclasses` keeps it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)


def _field_tuple(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields of an instance as a tuple (``attrgetter`` of one name is not a tuple)."""
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    if not names:
        return lambda obj: ()
    return attrgetter(*names)  # type: ignore[return-value]


@recursive_repr()
def _record_repr(self: Any) -> str:
    cls = self.__class__
    inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in cls.__record_fields__)
    return f"{cls.__qualname__}({inner})"


def _record_eq(self: Any, other: object) -> bool:
    if other.__class__ is self.__class__:
        values = self.__class__.__record_values__
        return bool(values(self) == values(other))
    return NotImplemented


def _record_hash(self: Any) -> int:
    return hash(self.__class__.__record_values__(self))


def _make_record(cls: T, frozen: bool) -> T:
    own = set(cls.__dict__)
    made = dataclasses.dataclass(cls, frozen=frozen, slots=True, repr=False, eq=False)
    names = tuple(f.name for f in dataclasses.fields(made))
    made.__record_fields__ = names
    made.__record_values__ = staticmethod(_field_tuple(names))
    if "__repr__" not in own:
        made.__repr__ = _record_repr
    if "__eq__" not in own:
        made.__eq__ = _record_eq
        if "__hash__" not in own:
            made.__hash__ = _record_hash if frozen else None  # type: ignore[assignment]
    return made


@overload
def record(cls: T, /) -> T: ...
@overload
def record(*, frozen: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=False)
def record(cls: T | None = None, /, *, frozen: bool = False) -> T | Callable[[T], T]:
    """``@dataclass(slots=True, frozen=...)`` with the shared repr, ``==`` and hash."""
    if cls is None:
        return lambda c: _make_record(c, frozen)
    return _make_record(cls, frozen)
