"""Event files: round trip, crash safety, and a clear error for every kind of bad file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from bot.core.dtypes import EVENT_DTYPE, SCHEMA_VERSION, EventKind
from bot.core.instruments import InstrumentSpec
from bot.data.eventfile import (
    DATA_ALIGN,
    PREAMBLE,
    EventFileError,
    EventFileWriter,
    read_event_file,
    write_event_file,
)


def _rows(n: int, start: int = 1_000) -> np.ndarray:
    rng = np.random.default_rng(3)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["kind"] = rng.integers(1, 6, n)
    ev["instrument"] = rng.integers(0, 2, n)
    ev["ts_local_ns"] = start + np.cumsum(rng.integers(0, 5, n))
    ev["ts_exch_ns"] = ev["ts_local_ns"] - rng.integers(1, 50, n)
    ev["price_tick"] = rng.integers(1, 10**6, n)
    ev["qty_lot"] = rng.integers(0, 10**4, n)
    ev["seq"] = np.arange(n)
    return ev


def test_round_trip_keeps_rows_header_and_specs(tmp_path: Path, specs: list[InstrumentSpec]):
    ev = _rows(5000)
    path = write_event_file(tmp_path / "a.events", ev, specs, "unit test")
    opened = read_event_file(path, verify=True)
    assert isinstance(opened.events, np.memmap)
    assert np.array_equal(opened.events, ev)
    assert opened.instruments == specs
    header = opened.header
    assert header["format"] == "tickbot-events"
    assert header["schema_version"] == SCHEMA_VERSION
    assert header["count"] == 5000
    assert header["source"] == "unit test"
    assert header["data_offset"] % DATA_ALIGN == 0
    assert header["time_range"]["ts_local_ns"] == [
        int(ev["ts_local_ns"][0]),
        int(ev["ts_local_ns"][-1]),
    ]
    assert header["time_range"]["ts_exch_ns"] == [
        int(ev["ts_exch_ns"].min()),
        int(ev["ts_exch_ns"].max()),
    ]
    with pytest.raises(ValueError, match="read-only"):
        opened.events["qty_lot"][0] = 1


def test_rows_map_at_the_documented_offset(tmp_path: Path, specs: list[InstrumentSpec]):
    ev = _rows(10)
    path = write_event_file(tmp_path / "a.events", ev, specs, "t")
    raw = path.read_bytes()
    magic, length, _ = PREAMBLE.unpack(raw[: PREAMBLE.size])
    header = json.loads(raw[PREAMBLE.size : PREAMBLE.size + length])
    mapped = np.memmap(path, dtype=EVENT_DTYPE, mode="r", offset=header["data_offset"])
    assert magic == b"TBEVENTS"
    assert np.array_equal(mapped, ev)


def test_chunked_writes_equal_one_write(tmp_path: Path, specs: list[InstrumentSpec]):
    ev = _rows(3000)
    with EventFileWriter(tmp_path / "chunks.events", specs, "t", created_at="x") as writer:
        for part in np.array_split(ev, 7):
            writer.write(part)
    whole = write_event_file(tmp_path / "whole.events", ev, specs, "t", created_at="x")
    assert (tmp_path / "chunks.events").read_bytes() == whole.read_bytes()


def test_empty_file_reads_back_empty(tmp_path: Path, specs: list[InstrumentSpec]):
    path = write_event_file(tmp_path / "e.events", np.zeros(0, EVENT_DTYPE), specs, "t")
    opened = read_event_file(path, verify=True)
    assert opened.events.shape == (0,)
    assert opened.header["time_range"] == {"ts_exch_ns": None, "ts_local_ns": None}


def test_crash_while_writing_leaves_no_file(tmp_path: Path, specs: list[InstrumentSpec]):
    target = tmp_path / "crash.events"

    def crash() -> None:
        with EventFileWriter(target, specs, "t") as writer:
            writer.write(_rows(100))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash()
    assert list(tmp_path.iterdir()) == []


def test_rows_out_of_replay_order_are_rejected(tmp_path: Path, specs: list[InstrumentSpec]):
    ev = _rows(10)
    ev["ts_local_ns"][5] = 0
    with pytest.raises(EventFileError, match="row 5 goes back in time"):
        write_event_file(tmp_path / "x.events", ev, specs, "t")
    assert not (tmp_path / "x.events").exists()


def test_unknown_instrument_id_is_rejected(tmp_path: Path, specs: list[InstrumentSpec]):
    ev = _rows(10)
    ev["instrument"][3] = 7
    with pytest.raises(EventFileError, match="instrument id 7"):
        write_event_file(tmp_path / "x.events", ev, specs, "t")


@pytest.fixture
def good_file(tmp_path: Path, specs: list[InstrumentSpec]) -> Path:
    return write_event_file(tmp_path / "good.events", _rows(100), specs, "t")


def _rewrite_header(path: Path, **changes: object) -> None:
    raw = bytearray(path.read_bytes())
    _, length, _ = PREAMBLE.unpack(raw[: PREAMBLE.size])
    header = json.loads(raw[PREAMBLE.size : PREAMBLE.size + length])
    header.update(changes)
    text = json.dumps(header).encode()
    raw[PREAMBLE.size : PREAMBLE.size + length] = text + b" " * (length - len(text))
    path.write_bytes(bytes(raw))


def test_missing_file(tmp_path: Path):
    with pytest.raises(EventFileError, match="no such file"):
        read_event_file(tmp_path / "nope.events")


def test_truncated_data(good_file: Path):
    good_file.write_bytes(good_file.read_bytes()[: -EVENT_DTYPE.itemsize * 3 - 5])
    with pytest.raises(EventFileError, match="truncated: header says 100 events, file holds 96"):
        read_event_file(good_file)


def test_truncated_header(good_file: Path):
    good_file.write_bytes(good_file.read_bytes()[:200])
    with pytest.raises(EventFileError, match="truncated inside the header"):
        read_event_file(good_file)


def test_other_file_type(tmp_path: Path):
    path = tmp_path / "data.csv"
    path.write_text("exchange,symbol\n")
    with pytest.raises(EventFileError, match="not a tickbot event file"):
        read_event_file(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 99}, "format version 99; this tickbot reads version 1"),
        ({"schema_version": SCHEMA_VERSION + 1}, "schema version"),
        ({"format": "other"}, "not a tickbot event file"),
        ({"dtype": {"names": ["kind"]}}, "row layout"),
        ({"count": 101}, "truncated"),
        ({"count": 99}, "bytes after the last event"),
    ],
)
def test_wrong_header_fields(good_file: Path, changes: dict[str, object], message: str):
    _rewrite_header(good_file, **changes)
    with pytest.raises(EventFileError, match=message):
        read_event_file(good_file)


def test_corrupt_json_header(good_file: Path):
    raw = bytearray(good_file.read_bytes())
    raw[PREAMBLE.size] = ord("[")
    raw[PREAMBLE.size + 1] = ord("}")
    good_file.write_bytes(bytes(raw))
    with pytest.raises(EventFileError, match="corrupt header"):
        read_event_file(good_file)


def test_flipped_data_byte_fails_verification(good_file: Path):
    raw = bytearray(good_file.read_bytes())
    raw[-10] ^= 0xFF
    good_file.write_bytes(bytes(raw))
    read_event_file(good_file)  # cheap open does not read the rows
    with pytest.raises(EventFileError, match="CRC-32"):
        read_event_file(good_file, verify=True)


def test_errors_are_one_line(tmp_path: Path):
    path = tmp_path / "junk.events"
    path.write_bytes(struct.pack("<8sII", b"TBEVENTS", 4, 0) + b"\xff\xfe\x00\x01")
    with pytest.raises(EventFileError) as info:
        read_event_file(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_kinds_survive(tmp_path: Path, specs: list[InstrumentSpec]):
    ev = _rows(4)
    ev["kind"] = [EventKind.BOOK_CLEAR, EventKind.BOOK_BID, EventKind.BOOK_ASK, EventKind.TRADE_BUY]
    opened = read_event_file(write_event_file(tmp_path / "k.events", ev, specs, "t"))
    assert list(opened.events["kind"]) == [3, 1, 2, 4]


def test_chunked_reads_and_released_pages_give_the_same_rows(tmp_path: Path, specs):
    ev = _rows(10_000)
    opened = read_event_file(write_event_file(tmp_path / "c.events", ev, specs, "t"))
    parts = list(opened.iter_chunks(123, 9_000, rows=1000))
    assert [p.shape[0] for p in parts] == [1000] * 8 + [877]
    assert np.array_equal(np.concatenate(parts), ev[123:9_000])
    before = np.array(opened.events[:5000])
    opened.release(0, 5000)
    assert np.array_equal(opened.events[:5000], before)  # re-read from the file on access


def test_missing_parent_folders_are_created(tmp_path: Path, specs: list[InstrumentSpec]):
    path = tmp_path / "demo-out" / "day1" / "market.evt"
    write_event_file(path, _rows(3), specs, source="test")
    assert read_event_file(path).events.shape[0] == 3
