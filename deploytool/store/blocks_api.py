"""The store's contract for blocks (its own module, beside `api.py`): named documents whose secrets are stored
encrypted with a key kept outside the store (docs/stores.md, "Secrets at rest")."""

from __future__ import annotations

import builtins

from deploytool.models import Block
from deploytool.typeforms import Protocol

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from deploytool.secretbox import SecretKey


class BlockRepository(Protocol):
    """(type, name) -> data and secret field names. Secrets are stored encrypted with a key kept outside the store
    (docs/stores.md): `set`/`get`/`list` give public views (secrets masked, no key needed); `reveal`/`reveal_all`
    decrypt, and raise SecretKeyError naming the block; `rotate_key` re-encrypts all, or none."""

    def set(self, block: Block) -> Block: ...

    def get(self, type: str, name: str) -> Block: ...

    def list(self, type: str | None = None) -> builtins.list[Block]: ...

    def reveal(self, type: str, name: str) -> Block: ...

    def reveal_all(self, type: str | None = None, *, readable_only: bool = False) -> builtins.list[Block]: ...

    def rotate_key(self, new: SecretKey) -> int: ...

    def key_ids(self) -> dict[str, int]: ...

    def delete(self, type: str, name: str) -> None: ...
