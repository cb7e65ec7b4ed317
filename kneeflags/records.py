"""Records: kneeflags' value classes, slotted dataclasses whose methods are shared functions.

Why not plain ``@dataclass(slots=True)``: :mod:`dataclasses` writes the source text of
every method it adds and compiles it (``exec``) when the class is created, and kneeflags
defines about a hundred such classes that a command imports before it does anything.
Compiling their methods was about 17 % of the instructions of a warm ``kneeflags analyze``
(issue 15; callgrind on the 300-file bench set). The methods do the same thing in every
class, read from the class's field list, so one shared function of each serves all
records: ``__init__`` (positional or keyword arguments, defaults, default factories,
``__post_init__``), ``__repr__``, ``__eq__``, ``__hash__`` and, for a frozen record, the
guard against assignment and the pickling that goes around it. :mod:`dataclasses` still
builds the class (fields, slots, ``__match_args__``): ``dataclasses.fields``/``replace``/
``asdict``/``is_dataclass`` and type checkers (:func:`typing.dataclass_transform`) see an
ordinary dataclass. Creating an instance costs about a microsecond more than with the
generated ``__init__``; a warm run creates ~1,700, a cold one ~7,000 (per process, fewer).

Behaviour is the dataclass one (``tests/test_records.py`` compares them, hypothesis):

* construction: the fields in order as positional-or-keyword parameters, the same
  ``TypeError`` for a missing, repeated or unknown argument;
* ``repr``: ``ClassName(field=value!r, ...)`` with the class's qualified name, ``...`` for
  a record that contains itself;
* ``==``: equal when ``other`` is of the very same class and the field tuples are equal
  (``NotImplemented`` otherwise, so ``a == b`` falls back to identity);
* ``hash``: ``hash`` of the field tuple for a frozen record; a mutable record is
  unhashable, as a mutable dataclass with ``eq=True`` is;
* frozen: assigning or deleting a field raises
  :class:`dataclasses.FrozenInstanceError`; copies and pickles work.

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


_MISSING = dataclasses.MISSING
_set = object.__setattr__


def _bind(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The value of every field from the call's arguments, bound as a generated
    ``__init__`` binds them, or the ``TypeError`` it would raise, checked in its order
    (each keyword, then too many positional arguments, then what is missing)."""
    names = cls.__record_params__
    plain, factory_of = cls.__record_plain_defaults__, cls.__record_factory_of__
    where = f"{cls.__qualname__}.__init__()"
    index = cls.__record_index__
    for name in kwargs:
        at = index.get(name)
        if at is None:
            raise TypeError(f"{where} got an unexpected keyword argument '{name}'")
        if at < len(args):
            raise TypeError(f"{where} got multiple values for argument '{name}'")
    if len(args) > len(names):
        most = len(names) + 1
        least = most - len(plain) - len(factory_of)
        takes = f"from {least} to {most}" if least < most else str(most)
        noun = "argument" if most == 1 else "arguments"
        raise TypeError(f"{where} takes {takes} positional {noun} but {len(args) + 1} were given")
    rest = names[len(args) :]
    missing = [n for n in rest if n not in kwargs and n not in plain and n not in factory_of]
    if missing:
        quoted = [f"'{n}'" for n in missing]
        listed = (
            " and ".join(quoted)
            if len(quoted) < 3
            else ", ".join(quoted[:-1]) + ", and " + quoted[-1]
        )
        plural = "s" if len(missing) > 1 else ""
        raise TypeError(
            f"{where} missing {len(missing)} required positional argument{plural}: {listed}"
        )
    values = list(args)
    for name in rest:
        if name in kwargs:
            values.append(kwargs[name])
        elif name in factory_of:
            values.append(factory_of[name]())
        else:
            values.append(plain[name])
    return values


def _record_init(self: Any, /, *args: Any, **kwargs: Any) -> None:
    cls = self.__class__
    params = cls.__record_params__
    if args or not kwargs:
        if kwargs or len(args) == len(params):
            values = args if not kwargs else _bind(cls, args, kwargs)
        elif cls.__record_first_default__ <= len(args) < len(params):
            # positional, trailing fields left to their (plain) defaults: SourceRef(path)
            values = args + cls.__record_tail__[len(args) - cls.__record_first_default__ :]
        else:
            values = _bind(cls, args, kwargs)
        for name, value in zip(params, values, strict=True):
            _set(self, name, value)
    else:  # all by keyword, the usual call: defaults merged in C, then one pass
        merged = {**cls.__record_plain_defaults__, **kwargs}
        for name, factory in cls.__record_factory_of__.items():
            if name not in merged:
                merged[name] = factory()
        if len(merged) != len(params):
            merged = dict(zip(params, _bind(cls, args, kwargs), strict=True))
        try:
            for name in params:
                _set(self, name, merged[name])
        except KeyError:  # a required field missing and an unknown one given
            _bind(cls, args, kwargs)  # raises the generated __init__'s TypeError
            raise
    for name, default, factory in cls.__record_unset__:
        _set(self, name, factory() if factory is not None else default)
    if cls.__record_post_init__:
        self.__post_init__()


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _frozen_getstate(self: Any) -> list[Any]:
    return [getattr(self, name) for name in self.__class__.__record_fields__]


def _frozen_setstate(self: Any, state: list[Any]) -> None:
    for name, value in zip(self.__class__.__record_fields__, state, strict=True):
        _set(self, name, value)


class _InitSignature:
    """``inspect.signature`` of a record: the generated ``__init__``'s (a default factory
    shown as ``<factory>``, as dataclasses shows it), built on first use (``help()``, IDEs,
    hypothesis' ``builds``) instead of at class creation."""

    def __get__(self, obj: object, cls: type) -> Any:
        import inspect

        factory = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", "<factory>")
        params = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            if f.default is not _MISSING:
                default = f.default
            elif f.default_factory is not _MISSING:
                default = factory
            else:
                default = inspect.Parameter.empty
            kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
            params.append(inspect.Parameter(f.name, kind, default=default, annotation=f.type))
        return inspect.Signature(params, return_annotation=None)


_SIGNATURE = _InitSignature()


def _refuse_what_records_do_not_implement(cls: type, frozen: bool) -> None:
    """A ``TypeError`` at class creation for the dataclass features the shared methods do
    not implement, rather than a record that silently behaves otherwise: per-field
    ``compare``/``repr``/``hash``/``kw_only``, ``InitVar`` and ``kw_only`` pseudo-fields,
    inheriting from another record, and a frozen record with its own ``__eq__`` (a
    dataclass would still generate its ``__hash__``)."""
    where = f"record {cls.__qualname__}"
    if any(hasattr(base, "__record_fields__") for base in cls.__mro__[1:]):
        raise TypeError(f"{where}: a record cannot inherit from another record")
    # (Python sets __hash__ = None in a class that defines __eq__ without one.)
    if frozen and "__eq__" in cls.__dict__ and cls.__dict__.get("__hash__") is None:
        raise TypeError(f"{where}: a frozen record defining __eq__ must define __hash__ too")
    for name, f in cls.__dataclass_fields__.items():
        if f._field_type is not dataclasses._FIELD:  # type: ignore[attr-defined]
            if f._field_type is dataclasses._FIELD_CLASSVAR:  # type: ignore[attr-defined]
                continue
            raise TypeError(f"{where}: field {name!r} is an InitVar (not supported)")
        if not f.compare or not f.repr or f.hash is not None or f.kw_only is True:
            raise TypeError(
                f"{where}: field {name!r} sets compare/repr/hash/kw_only (not supported)"
            )


def _make_record(cls: T, frozen: bool) -> T:
    own = set(cls.__dict__)
    # Nothing generated: no init, repr or eq, and not frozen (the guard is added below).
    made = dataclasses.dataclass(cls, init=False, repr=False, eq=False, frozen=False, slots=True)
    _refuse_what_records_do_not_implement(made, frozen)
    fields = dataclasses.fields(made)
    names = tuple(f.name for f in fields)
    made.__record_fields__ = names
    made.__record_values__ = staticmethod(_field_tuple(names))
    made.__record_params__ = params = tuple(f.name for f in fields if f.init)
    made.__record_index__ = {name: i for i, name in enumerate(params)}
    made.__record_plain_defaults__ = {
        f.name: f.default for f in fields if f.init and f.default is not _MISSING
    }
    # Trailing parameters with plain defaults: a short positional call is completed
    # from this tuple (a factory among them sends such calls through _bind instead).
    first = len(params)
    while first > 0 and params[first - 1] in made.__record_plain_defaults__:
        first -= 1
    made.__record_first_default__ = first
    made.__record_tail__ = tuple(made.__record_plain_defaults__[n] for n in params[first:])
    made.__record_factory_of__ = {
        f.name: f.default_factory for f in fields if f.init and f.default_factory is not _MISSING
    }
    made.__record_unset__ = tuple(
        (f.name, f.default, None if f.default_factory is _MISSING else f.default_factory)
        for f in fields
        if not f.init and (f.default is not _MISSING or f.default_factory is not _MISSING)
    )
    made.__record_post_init__ = hasattr(made, "__post_init__")
    if "__init__" not in own:
        made.__init__ = _record_init
        made.__signature__ = _SIGNATURE
    if "__repr__" not in own:
        made.__repr__ = _record_repr
    if "__eq__" not in own:
        made.__eq__ = _record_eq
        if "__hash__" not in own:
            made.__hash__ = _record_hash if frozen else None  # type: ignore[assignment]
    if frozen:
        made.__setattr__ = _frozen_setattr
        made.__delattr__ = _frozen_delattr
        made.__getstate__ = _frozen_getstate
        made.__setstate__ = _frozen_setstate
    return made


@overload
def record(cls: T, /) -> T: ...
@overload
def record(*, frozen: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=False)
def record(cls: T | None = None, /, *, frozen: bool = False) -> T | Callable[[T], T]:
    """``@dataclass(slots=True, frozen=...)`` with the shared methods (see the module)."""
    if cls is None:
        return lambda c: _make_record(c, frozen)
    return _make_record(cls, frozen)
