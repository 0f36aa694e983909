"""A run's output on its way to the store (docs/worker.md, "When the store is away"): lines stay buffered until a
write of them committed, a write sent again stores each line once, and the buffer is bounded: past its limit the
oldest lines are dropped and one line from the worker says how many, where they were."""

from __future__ import annotations

from pathlib import Path

from deploytool.store import Store
from deploytool.worker.logbuffer import LineBuffer
from deploytool.worker.output import RunOutput, write_outputs
from tests.worker.helpers import make_deployment, queue_run, write_flow


def _run(store: Store, tmp_path: Path) -> str:
    return queue_run(store, make_deployment(store, tmp_path, write_flow(tmp_path, "pass"))).id


def _messages(store: Store, run_id: str) -> list[str]:
    return [x.message for x in store.logs.read(run_id, limit=10_000)]


def test_lines_written_again_after_a_lost_answer_are_stored_once(store: Store, tmp_path: Path) -> None:
    output = RunOutput(_run(store, tmp_path))
    for n in range(1, 4):
        output(f"line {n}")
    sent = output.take()
    assert sent is not None
    output.write(store, sent)  # committed, but the answer never came: the lines stay in the buffer
    output("line 4")
    write_outputs(store, [output])  # the next pass sends them all again
    assert _messages(store, output.run_id) == ["line 1", "line 2", "line 3", "line 4"]
    assert output.buffered == 0 and output.take() is None


def test_a_full_buffer_drops_the_oldest_lines_and_says_so_where_they_were(store: Store, tmp_path: Path) -> None:
    output = RunOutput(_run(store, tmp_path), _lines=LineBuffer(max_lines=5, max_bytes=1_000_000))
    for n in range(1, 13):
        output(f"line {n}")
    assert output.buffered == 5
    write_outputs(store, [output])
    stored = store.logs.read(output.run_id)
    assert [x.message for x in stored][1:] == [f"line {n}" for n in range(8, 13)]
    marker = stored[0]
    assert (marker.level, marker.source) == ("WARNING", "worker")
    assert marker.message.startswith("7 line(s) (42 bytes) of this run's output were dropped here")
    assert "at most 5 lines or 1000000 bytes per run" in marker.message
    for n in range(13, 15):  # nothing dropped since: no new marker
        output(f"line {n}")
    write_outputs(store, [output])
    assert _messages(store, output.run_id)[-3:] == ["line 12", "line 13", "line 14"]


def test_the_byte_limit_drops_lines_too(store: Store, tmp_path: Path) -> None:
    output = RunOutput(_run(store, tmp_path), _lines=LineBuffer(max_lines=1000, max_bytes=25))
    for n in range(1, 6):
        output(f"ten bytes{n}")  # 10 bytes each: two fit
    write_outputs(store, [output])
    messages = _messages(store, output.run_id)
    assert messages[0].startswith("3 line(s) (30 bytes) of this run's output were dropped here")
    assert messages[1:] == ["ten bytes4", "ten bytes5"]
