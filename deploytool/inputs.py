"""Reading files and streams a user names, with a size limit, so that `/dev/zero`, a FIFO that never ends or
a huge file is refused after at most MAX_INPUT_BYTES bytes instead of filling memory (docs/limits.md)."""

from __future__ import annotations

from pathlib import Path

from deploytool.errors import DeploytoolError

TYPE_CHECKING = False  # not typing's: every store command imports this module (issue 17, item 4)
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO

MAX_INPUT_BYTES = 10_000_000  # a project file, a JSON file (--from-json) or standard input
_CHUNK = 1 << 16


class InputError(DeploytoolError):
    """A file or stream could not be read, is too large, or is not UTF-8 text."""


def read_text_limited(path: Path | str, *, limit: int = MAX_INPUT_BYTES, label: str | None = None) -> str:
    """The UTF-8 text of `path`; InputError when it cannot be read, is larger than `limit` bytes, or not UTF-8.

    Reads at most `limit` + 1 bytes whatever the file is (a device, a FIFO, a file still growing)."""
    shown = label or str(path)
    try:
        with Path(path).open("rb") as handle:
            data = _read_bytes(handle, limit, shown)
    except OSError as exc:
        raise InputError(f"cannot read {shown}: {exc.strerror or exc}") from None
    return _decode(data, shown)


def read_stream_limited(stream: TextIO | BinaryIO, *, limit: int = MAX_INPUT_BYTES, label: str) -> str:
    """The text of an open stream (standard input), read with the same limit."""
    binary = getattr(stream, "buffer", None)
    if binary is not None:
        return _decode(_read_bytes(binary, limit, label), label)
    chunks: list[str] = []
    size = 0
    while chunk := stream.read(_CHUNK):
        text = chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace")
        size += len(text.encode("utf-8"))
        if size > limit:
            raise _too_large(label, limit)
        chunks.append(text)
    return "".join(chunks)


def _read_bytes(handle: BinaryIO, limit: int, label: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := handle.read(min(_CHUNK, limit + 1 - size)):
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            raise _too_large(label, limit)
    return b"".join(chunks)


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _too_large(label: str, limit: int) -> InputError:
    return InputError(
        f"{label} is larger than {limit:,} bytes", "deploytool reads files up to that size (docs/limits.md)"
    )
