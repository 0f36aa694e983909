"""Frozen records: what `@dataclass(frozen=True)` makes of a class, without `dataclasses` at a command's start.

    @record
    class WorkPool:
        name: str
        paused: bool = False
        created: datetime = field(default_factory=utcnow)

A record has what a frozen dataclass has: an `__init__` taking the annotated fields in order (plain defaults, and
`field(default_factory=...)`), `__repr__`, `__eq__` and `__hash__` over the fields (`field(compare=False)` leaves
one out), `__match_args__`, `order=True` comparisons, and assignment refused with dataclasses'
FrozenInstanceError. `dataclasses.fields`, `replace`, `asdict` and `is_dataclass` work on it as on a dataclass,
and type checkers see a dataclass (PEP 681). `replace`, `field_names` and `is_record` here do what
`dataclasses.replace`, `fields` and `is_dataclass` do, without importing dataclasses.

What it saves: importing `dataclasses` pulls in inspect, ast, dis and tokenize (~20 ms of CPU, more than the bare
interpreter's start), and each dataclass compiles five or six methods when its module is imported. Here
`__init__` is compiled when the class's first instance is made, the other methods are shared functions, and
`dataclasses` is imported only by the first call that asks for a record's `Field` objects (issue 17, item 4).
Records do not inherit fields from a base class.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # not typing's: importing typing costs every command a few ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform, overload

    T = TypeVar("T")

_MISSING: Any = object()


class _Field:
    """A field's default (a value or a factory), and whether it is shown by repr and takes part in comparisons."""

    __slots__ = ("compare", "default", "factory", "repr")

    def __init__(self, default: Any, factory: Any, repr: bool, compare: bool) -> None:
        self.default = default
        self.factory = factory
        self.repr = repr
        self.compare = compare

    def kwargs(self) -> dict[str, Any]:
        """The same field as `dataclasses.field` arguments."""
        found: dict[str, Any] = {"repr": self.repr, "compare": self.compare}
        if self.default is not _MISSING:
            found["default"] = self.default
        if self.factory is not _MISSING:
            found["default_factory"] = self.factory
        return found


if TYPE_CHECKING:

    @overload
    def field(*, default: T, repr: bool = True, compare: bool = True) -> T: ...
    @overload
    def field(*, default_factory: Callable[[], T], repr: bool = True, compare: bool = True) -> T: ...
    @overload
    def field(*, repr: bool = True, compare: bool = True) -> Any: ...
    def field(
        *, default: Any = _MISSING, default_factory: Any = _MISSING, repr: bool = True, compare: bool = True
    ) -> Any: ...
    @overload
    def record(cls: type[T], /) -> type[T]: ...
    @overload
    def record(*, frozen: bool = True, order: bool = False) -> Callable[[type[T]], type[T]]: ...
    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def record(cls: type[T] | None = None, /, *, frozen: bool = True, order: bool = False) -> Any: ...

else:

    def field(*, default=_MISSING, default_factory=_MISSING, repr=True, compare=True):
        """A field's default factory (`default_factory=list`), or a field left out of repr or comparisons."""
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        return _Field(default, default_factory, repr, compare)

    def record(cls=None, /, *, frozen=True, order=False):
        """Make `cls` a record (see the module's doc): frozen unless `frozen=False` (then, as a dataclass, it can
        be changed and is not hashable); `order=True` adds <, <=, >, >=."""
        if cls is None:
            return lambda target: _make(target, frozen, order)
        return _make(cls, frozen, order)


def is_record(obj: object) -> bool:
    """Whether `obj` is a record or a record's class (`dataclasses.is_dataclass`, without importing it)."""
    return "__record_fields__" in vars(obj if isinstance(obj, type) else type(obj))


def field_names(obj: object) -> tuple[str, ...]:
    """The names of the fields of a record or of a record's class, in order (`dataclasses.fields`, names only)."""
    fields: tuple[tuple[str, _Field], ...] | None = getattr(
        obj if isinstance(obj, type) else type(obj), "__record_fields__", None
    )
    if fields is None:
        raise TypeError("field_names() should be called on a record or a record's class")
    return tuple(name for name, _ in fields)


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the record `obj` with `changes`: `dataclasses.replace`, without importing dataclasses."""
    fields: tuple[tuple[str, _Field], ...] | None = getattr(type(obj), "__record_fields__", None)
    if fields is None:
        raise TypeError("replace() should be called on record instances")
    values = vars(obj)
    for name, _ in fields:
        if name not in changes:
            changes[name] = values[name]
    return type(obj)(**changes)


def _make(cls: type[T], frozen: bool, order: bool) -> type[T]:
    for base in cls.__mro__[1:-1]:
        if "__record_fields__" in base.__dict__ or "__dataclass_fields__" in base.__dict__:
            raise TypeError(f"record {cls.__qualname__} cannot inherit the fields of {base.__qualname__}")
    fields: list[tuple[str, _Field]] = []
    defaulted = ""
    for name, annotation in vars(cls).get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.replace("typing.", "").startswith(("ClassVar", "InitVar")):
            raise TypeError(f"record {cls.__qualname__}: {name}: ClassVar and InitVar are not supported")
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, _Field) else _Field(value, _MISSING, True, True)
        if spec.factory is not _MISSING:
            delattr(cls, name)  # as dataclasses do: no class attribute for a factory's field
        elif spec.default is not _MISSING:
            if type(spec.default).__hash__ is None:
                raise ValueError(
                    f"mutable default {type(spec.default)} for field {name} is not allowed: use default_factory"
                )
            setattr(cls, name, spec.default)
        if spec.default is spec.factory is _MISSING and defaulted:
            raise TypeError(f"non-default argument {name!r} follows default argument {defaulted!r}")
        if spec.default is not _MISSING or spec.factory is not _MISSING:
            defaulted = defaulted or name
        fields.append((name, spec))
    names = tuple(name for name, _ in fields)
    shown = tuple(name for name, spec in fields if spec.repr)
    compared = tuple(name for name, spec in fields if spec.compare)
    methods = _methods(cls, shown, _key(compared))
    if order:
        methods.update(_order_methods(_key(compared)))
    if not frozen:  # as a mutable dataclass: assignable, and not hashable
        del methods["__setattr__"], methods["__delattr__"], methods["__hash__"]
        if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:
            type.__setattr__(cls, "__hash__", None)
    for name, method in methods.items():
        if name not in cls.__dict__ or name in ("__setattr__", "__delattr__"):
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            type.__setattr__(cls, name, method)
    type.__setattr__(cls, "__record_frozen__", frozen)
    type.__setattr__(cls, "__record_fields__", tuple(fields))
    type.__setattr__(cls, "__match_args__", names)
    type.__setattr__(cls, "__dataclass_fields__", _DataclassFields())
    return cls


def _key(names: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """The tuple of the named attributes (dataclasses compare and hash such tuples)."""
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return attrgetter(*names)


def _methods(cls: type, shown: tuple[str, ...], key: Callable[[object], tuple[Any, ...]]) -> dict[str, Any]:
    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        # The first instance compiles the real __init__ (as dataclasses would) and puts it in this one's place.
        init = _compile_init(cls)
        type.__setattr__(cls, "__init__", init)
        init(self, *args, **kwargs)

    def __repr__(self: object) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({fields})"

    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    def __hash__(self: object) -> int:
        return hash(key(self))

    def __setattr__(self: object, name: str, value: object) -> None:
        raise _frozen(f"cannot assign to field {name!r}")

    def __delattr__(self: object, name: str) -> None:
        raise _frozen(f"cannot delete field {name!r}")

    return {
        "__init__": __init__,
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__hash__": __hash__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
    }


def _order_methods(key: Callable[[object], tuple[Any, ...]]) -> dict[str, Any]:
    def __lt__(self: object, other: object) -> bool:
        return key(self) < key(other) if other.__class__ is self.__class__ else NotImplemented

    def __le__(self: object, other: object) -> bool:
        return key(self) <= key(other) if other.__class__ is self.__class__ else NotImplemented

    def __gt__(self: object, other: object) -> bool:
        return key(self) > key(other) if other.__class__ is self.__class__ else NotImplemented

    def __ge__(self: object, other: object) -> bool:
        return key(self) >= key(other) if other.__class__ is self.__class__ else NotImplemented

    return {"__lt__": __lt__, "__le__": __le__, "__gt__": __gt__, "__ge__": __ge__}


def _frozen(message: str) -> Exception:
    from dataclasses import FrozenInstanceError  # only when a caller tries to change a record

    return FrozenInstanceError(message)


def _compile_init(cls: type) -> Callable[..., None]:
    """`__init__(self, <fields>)` storing each field in the instance's __dict__, as a frozen dataclass's does."""
    fields: tuple[tuple[str, _Field], ...] = cls.__record_fields__  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"__missing": _MISSING}
    params, body = [], []
    for number, (name, spec) in enumerate(fields):
        if spec.factory is not _MISSING:
            namespace[f"__factory{number}"] = spec.factory
            params.append(f"{name}=__missing")
            body.append(f"    __values[{name!r}] = __factory{number}() if {name} is __missing else {name}")
        else:
            if spec.default is not _MISSING:
                namespace[f"__default{number}"] = spec.default
                params.append(f"{name}=__default{number}")
            else:
                params.append(name)
            body.append(f"    __values[{name!r}] = {name}")
    source = f"def __init__(self, {', '.join(params)}):\n    __values = self.__dict__\n" + "\n".join(body) + "\n"
    exec(source, namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


class _DataclassFields:
    """A record's `__dataclass_fields__`: `dataclasses.Field` objects, made (and `dataclasses` imported) on first
    use, by `dataclasses.fields`, `replace`, `asdict` or `is_dataclass`."""

    def __get__(self, instance: object, owner: type) -> dict[str, Any]:
        import dataclasses

        fields: tuple[tuple[str, _Field], ...] = owner.__record_fields__  # type: ignore[attr-defined]
        annotations = vars(owner)["__annotations__"]
        twin = dataclasses.make_dataclass(
            owner.__name__,
            [(name, annotations[name], dataclasses.field(**spec.kwargs())) for name, spec in fields],
            frozen=owner.__record_frozen__,  # type: ignore[attr-defined]
        )
        found: dict[str, Any] = getattr(twin, "__dataclass_fields__")  # noqa: B009 (made by make_dataclass)
        type.__setattr__(owner, "__dataclass_fields__", found)
        return found
