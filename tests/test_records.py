"""kneeflags.records: the shared repr, == and hash behave as dataclasses' generated ones."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kneeflags.records import record


@dataclass(frozen=True, slots=True)
class FrozenDC:
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()


@record(frozen=True)
class FrozenRec:
    a: int
    b: str = "x"
    c: tuple[int, ...] = ()


@dataclass(slots=True)
class MutableDC:
    a: int
    items: list[int] = field(default_factory=list)


@record
class MutableRec:
    a: int
    items: list[int] = field(default_factory=list)


@record(frozen=True)
class One:
    only: float


@record(frozen=True)
class Empty:
    pass


@record(frozen=True)
class OwnStr:
    path: str

    def __str__(self) -> str:
        return f"<{self.path}>"


@record
class Node:
    name: str
    children: list[Node] = field(default_factory=list)


values = st.tuples(st.integers(), st.text(max_size=5), st.tuples(st.integers()))


@given(values, values)
def test_frozen_record_behaves_as_the_frozen_dataclass(x: tuple, y: tuple) -> None:
    r1, r2, d1, d2 = FrozenRec(*x), FrozenRec(*y), FrozenDC(*x), FrozenDC(*y)
    assert repr(r1) == repr(d1).replace("FrozenDC", "FrozenRec")
    assert (r1 == r2) == (d1 == d2)
    assert (r1 != r2) == (d1 != d2)
    assert hash(r1) == hash(d1)
    assert (hash(r1) == hash(r2)) == (hash(d1) == hash(d2))


def test_equality_needs_the_very_same_class() -> None:
    assert FrozenRec(1) == FrozenRec(1)
    assert FrozenRec(1) != FrozenDC(1)
    assert FrozenRec(1).__eq__((1, "x", ())) is NotImplemented
    assert One(1.0) == One(1.0) and One(1.0) != One(2.0)
    assert hash(One(1.0)) == hash((1.0,))
    assert Empty() == Empty() and hash(Empty()) == hash(())
    assert repr(Empty()) == "Empty()" and repr(One(0.5)) == "One(only=0.5)"
    nan = One(float("nan"))
    assert nan == nan  # tuple comparison: identity first, as the dataclass does
    assert One(float("nan")) != One(float("nan"))


def test_frozen_record_is_frozen_and_still_a_dataclass() -> None:
    r = FrozenRec(1, "y", (2,))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.a = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.a  # type: ignore[misc]
    assert dataclasses.is_dataclass(r)
    assert [f.name for f in dataclasses.fields(r)] == ["a", "b", "c"]
    assert dataclasses.replace(r, b="z") == FrozenRec(1, "z", (2,))
    assert dataclasses.asdict(r) == {"a": 1, "b": "y", "c": (2,)}
    assert not hasattr(r, "__dict__")  # slotted
    assert pickle.loads(pickle.dumps(r)) == r
    assert copy.deepcopy(r) == r
    with pytest.raises(TypeError):
        FrozenRec()  # type: ignore[call-arg]


def test_mutable_record_is_unhashable_and_compares_its_fields() -> None:
    m = MutableRec(1)
    m.items.append(3)
    assert m == MutableRec(1, [3])
    assert repr(m) == repr(MutableDC(1, [3])).replace("MutableDC", "MutableRec")
    with pytest.raises(TypeError):
        hash(m)
    assert MutableRec.__hash__ is None and MutableDC.__hash__ is None
    assert pickle.loads(pickle.dumps(m)) == m


def test_own_methods_are_kept_and_recursion_is_shown() -> None:
    assert str(OwnStr("a")) == "<a>" and repr(OwnStr("a")) == "OwnStr(path='a')"
    root = Node("root")
    root.children.append(root)
    assert repr(root) == "Node(name='root', children=[...])"


def test_kneeflags_classes_are_records() -> None:
    from kneeflags.config import Config
    from kneeflags.model import SourceRef

    assert Config() == Config() and hash(SourceRef("a")) == hash(SourceRef("a"))
    assert repr(SourceRef("a", "m")) == "SourceRef(path='a', member='m')"


@dataclass(frozen=True, slots=True)
class DefaultsDC:
    a: int
    b: int
    c: str = "c"
    d: list[int] = field(default_factory=list)


@record(frozen=True)
class DefaultsRec:
    a: int
    b: int
    c: str = "c"
    d: list[int] = field(default_factory=list)


def _outcome(cls: type, args: tuple, kwargs: dict) -> tuple:
    try:
        obj = cls(*args, **kwargs)
    except TypeError as exc:
        return ("error", str(exc).replace(cls.__qualname__, "X"))
    return ("ok", tuple(getattr(obj, f.name) for f in dataclasses.fields(obj)))


@dataclass(frozen=True, slots=True)
class PlainDC:
    a: int
    b: int = 2
    c: str = "c"


@record(frozen=True)
class PlainRec:
    a: int
    b: int = 2
    c: str = "c"


names = st.sampled_from(["a", "b", "c", "d", "e"])


@given(
    st.lists(st.integers(), max_size=5),
    st.dictionaries(names, st.integers(), max_size=4),
)
def test_construction_binds_as_the_generated_init(args: list, kwargs: dict) -> None:
    """Same values, or the same TypeError, for any mix of positional and keyword
    arguments (missing, repeated, unknown, too many)."""
    kwargs = {k: ([v] if k == "d" else v) for k, v in kwargs.items()}
    assert _outcome(DefaultsRec, tuple(args), dict(kwargs)) == _outcome(
        DefaultsDC, tuple(args), dict(kwargs)
    )
    # only plain defaults: short positional calls take the completed-tuple path
    assert _outcome(PlainRec, tuple(args), dict(kwargs)) == _outcome(
        PlainDC, tuple(args), dict(kwargs)
    )


def test_defaults_factories_and_post_init() -> None:
    one, two = DefaultsRec(1, 2), DefaultsRec(1, 2)
    assert one.c == "c" and one.d == [] and one.d is not two.d  # a new list each time
    calls = []

    @record(frozen=True)
    class Checked:
        value: int
        label: str = "x"

        def __post_init__(self) -> None:
            calls.append(self.value)
            if self.value < 0:
                raise ValueError("negative")

    assert Checked(3).label == "x" and calls == [3]
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)

    @record
    class WithHidden:
        a: int
        hidden: list[int] = field(default_factory=list, init=False)
        flag: bool = field(default=True, init=False)

    w = WithHidden(1)
    assert (w.a, w.hidden, w.flag) == (1, [], True)
    with pytest.raises(TypeError):
        WithHidden(1, [2])  # type: ignore[call-arg]


def test_frozen_record_copies_and_pickles_around_its_guard() -> None:
    r = DefaultsRec(1, 2, "z", [3])
    assert pickle.loads(pickle.dumps(r, protocol=2)) == r
    assert copy.copy(r) == r and copy.deepcopy(r).d is not r.d
    with pytest.raises(dataclasses.FrozenInstanceError):
        object.__getattribute__(r, "__setattr__")("c", "y")
    with pytest.raises(AttributeError):
        r.__dict__  # noqa: B018  (slotted: no instance dict)


def test_argument_errors_read_as_the_dataclass_ones() -> None:
    @dataclass
    class EmptyDC:
        pass

    @dataclass
    class OneDC:
        only: float

    for rec, dc, args in [(Empty, EmptyDC, (1,)), (Empty, EmptyDC, (1, 2)), (One, OneDC, (1, 2))]:
        assert _outcome(rec, args, {}) == _outcome(dc, args, {})
    assert _outcome(One, (), {}) == _outcome(OneDC, (), {})


def test_what_records_do_not_implement_is_refused_when_the_class_is_made() -> None:
    """A record that would silently differ from the dataclass it stands for is a
    TypeError at once (found in review): per-field compare/repr/hash/kw_only, InitVar,
    inheriting from a record, a frozen record with its own __eq__ and no __hash__."""
    from dataclasses import KW_ONLY, InitVar
    from typing import ClassVar

    def make(body: dict, bases: tuple = (), frozen: bool = True) -> type:
        cls = type("Made", bases, {"__annotations__": body.pop("__annotations__", {}), **body})
        return record(frozen=frozen)(cls)

    with pytest.raises(TypeError, match="compare/repr/hash/kw_only"):
        make({"__annotations__": {"a": int}, "a": field(compare=False)})
    with pytest.raises(TypeError, match="compare/repr/hash/kw_only"):
        make({"__annotations__": {"a": int}, "a": field(repr=False)})
    with pytest.raises(TypeError, match="compare/repr/hash/kw_only"):
        make({"__annotations__": {"a": int, "_": KW_ONLY, "b": int}})
    with pytest.raises(TypeError, match="InitVar"):
        make({"__annotations__": {"a": int, "b": InitVar[int]}})
    with pytest.raises(TypeError, match="inherit"):
        make({"__annotations__": {"b": int}}, bases=(FrozenRec,))
    with pytest.raises(TypeError, match="__hash__"):
        make({"__annotations__": {"a": int}, "__eq__": lambda self, other: True})
    # a ClassVar is no field, and is fine
    ok = make({"__annotations__": {"a": int, "LIMIT": ClassVar[int]}, "LIMIT": 3})
    assert ok(1).a == 1 and ok.LIMIT == 3


def test_the_signature_is_the_dataclass_one() -> None:
    import inspect

    assert str(inspect.signature(DefaultsRec)) == str(inspect.signature(DefaultsDC))
    assert str(inspect.signature(Empty)) == "() -> None"
