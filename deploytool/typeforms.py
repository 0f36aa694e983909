"""typing's run-time forms for the modules that every store command imports, without importing typing.

`import typing` costs each command a few ms of CPU (issue 17, item 4), and the store's interface needs some of its
forms at run time: its repositories are `Protocol`s, the repositories made on first use are a `Generic`
descriptor with `overload`ed access, and a row is `Any` in an alias other modules import. A type checker sees
typing's own forms here. At run time `Protocol` and `Generic` are plain bases (`Generic[R]` is `Generic`),
`TypeVar(name)` is the name, `overload` gives back the function it decorates (the last definition then replaces
it, as with typing's) and `Any` is `object`. Nothing in deploytool checks a
protocol or a type parameter at run time (no isinstance on a protocol, no `get_type_hints`); modules that do
import typing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's
if TYPE_CHECKING:
    from typing import Any as Any
    from typing import Generic as Generic
    from typing import Protocol as Protocol
    from typing import TypeVar as TypeVar
    from typing import overload as overload
else:
    Any = object  # in a type alias that other modules import (store/sql.py's Row)

    class Protocol:
        """A structural type for the type checker; a plain base at run time."""

        __slots__ = ()

    class Generic:
        """A generic base for the type checker; at run time `Generic[T]` is this plain base."""

        __slots__ = ()

        def __class_getitem__(cls, parameters: object) -> type:
            return cls

    def TypeVar(name: str, *constraints: object, **options: object) -> str:
        return name

    def overload(function: object) -> object:
        return function
