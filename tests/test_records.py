"""deploytool.records: a record behaves as the frozen (or mutable) dataclass of the same fields would."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from deploytool import records
from deploytool.core.secret_keys import KeyInfo
from deploytool.records import field, record


def _then() -> datetime:
    return datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@record
class Pool:
    name: str
    limit: int | None = None
    tags: list[str] = field(default_factory=list)
    created: datetime = field(default_factory=_then)
    note: str = field(default="", repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class PoolDataclass:
    name: str
    limit: int | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    created: datetime = dataclasses.field(default_factory=_then)
    note: str = dataclasses.field(default="", repr=False, compare=False)


@record(order=True)
class Issue:
    file: str
    line: int
    hint: str | None = field(default=None, compare=False)


@record(frozen=False)
class Plan:
    items: list[str] = field(default_factory=list)
    count: int = 0


def test_a_record_is_built_shown_and_compared_as_the_dataclass_is() -> None:
    pool, twin = Pool("p", 2, note="x"), PoolDataclass("p", 2, note="x")
    assert repr(pool) == repr(twin).replace("PoolDataclass(", "Pool(")
    assert pool == Pool("p", 2, [], _then(), note="other")  # `note` takes no part in comparisons
    assert pool != Pool("q", 2) and pool != twin
    assert (Pool.limit, Pool.__match_args__) == (None, ("name", "limit", "tags", "created", "note"))
    assert not hasattr(Pool, "tags")  # a factory's field has no class attribute, as in a dataclass
    with pytest.raises(TypeError, match=r"Pool.__init__\(\) missing 1 required positional argument: 'name'"):
        Pool()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        hash(pool)
    assert hash(Issue("f", 1, "a")) == hash(Issue("f", 1, "b"))


def test_a_record_is_frozen_with_dataclasses_error() -> None:
    pool = Pool("p")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'name'"):
        pool.name = "q"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'name'"):
        del pool.name  # type: ignore[misc]


def test_dataclasses_functions_work_on_records() -> None:
    pool = Pool("p", tags=["a"])
    assert dataclasses.is_dataclass(pool) and dataclasses.is_dataclass(Pool)
    assert [f.name for f in dataclasses.fields(Pool)] == [f.name for f in dataclasses.fields(PoolDataclass)]
    assert dataclasses.replace(pool, limit=3) == Pool("p", 3, ["a"])
    assert dataclasses.asdict(pool) == dataclasses.asdict(PoolDataclass("p", tags=["a"]))
    assert records.replace(pool, limit=3) == dataclasses.replace(pool, limit=3)
    assert records.field_names(pool) == records.field_names(Pool) == ("name", "limit", "tags", "created", "note")
    assert records.is_record(pool) and not records.is_record(PoolDataclass("p"))
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        records.replace(pool, nope=1)
    assert pickle.loads(pickle.dumps(pool)) == pool and copy.deepcopy(pool) == pool


def test_order_and_mutable_records() -> None:
    assert sorted([Issue("b", 1), Issue("a", 2, "z"), Issue("a", 1)]) == [Issue("a", 1), Issue("a", 2), Issue("b", 1)]
    plan = Plan()
    plan.items.append("x")
    plan.count = 1
    assert plan == Plan(["x"], 1) and repr(plan) == "Plan(items=['x'], count=1)"
    with pytest.raises(TypeError, match="unhashable type: 'Plan'"):
        hash(plan)


def test_a_record_refuses_what_a_dataclass_refuses() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @record
        class Bad:
            tags: list[str] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument 'a'"):

        @record
        class Order:
            a: int = 1
            b: int  # type: ignore[misc]


def test_to_dict_of_store_info_key_is_what_asdict_gave() -> None:
    info = KeyInfo("the key file /k", "abc123", None, {"abc123": 2})
    assert info.to_dict() == dataclasses.asdict(info)
