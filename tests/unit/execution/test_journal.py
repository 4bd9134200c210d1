"""The journal: CRC lines, torn records, rotation with snapshots, replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.execution.journal import (
    Journal,
    JournalError,
    decode_line,
    encode_line,
    journal_files,
    replay,
)


def write(tmp_path: Path, n: int, **kw: object) -> Journal:
    j = Journal(tmp_path, fsync_interval_s=0.005, **kw)  # type: ignore[arg-type]
    j.open(lambda: {"orders": []})
    for i in range(n):
        j.append("new", {"cid": f"c{i}", "qty": "0.001"})
    assert j.close()
    return j


def test_line_round_trip_and_crc_catches_a_flipped_byte() -> None:
    line = encode_line({"seq": 1, "t": "new", "cid": "abc"})
    assert line.endswith(b"\n")
    assert decode_line(line[:-1]) == {"seq": 1, "t": "new", "cid": "abc"}
    flipped = line[:-3] + (b"d" if line[-3:-2] != b"d" else b"e") + line[-2:-1]
    assert decode_line(flipped) is None


def test_replay_returns_records_in_order_with_increasing_seq(tmp_path: Path) -> None:
    write(tmp_path, 50)
    rep = replay(tmp_path)
    assert [r["t"] for r in rep.records][:2] == ["snapshot", "new"]
    assert [r["cid"] for r in rep.records[1:]] == [f"c{i}" for i in range(50)]
    seqs = [r["seq"] for r in rep.records]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert rep.torn == 0
    assert rep.last_seq == seqs[-1]


def test_torn_last_record_is_skipped_not_fatal(tmp_path: Path) -> None:
    write(tmp_path, 10)
    path = journal_files(tmp_path)[-1]
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # power loss in the middle of the last line
    rep = replay(tmp_path)
    assert rep.torn == 1
    assert [r["cid"] for r in rep.records[1:]] == [f"c{i}" for i in range(9)]


def test_corrupt_middle_record_is_skipped_and_counted(tmp_path: Path) -> None:
    write(tmp_path, 5)
    path = journal_files(tmp_path)[-1]
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"c1", b"c9")
    path.write_bytes(b"\n".join(lines))
    rep = replay(tmp_path)
    assert rep.torn == 1
    assert "c1" not in [r.get("cid") for r in rep.records]
    assert [r["cid"] for r in rep.records[1:]] == ["c0", "c2", "c3", "c4"]


def test_rotation_starts_each_file_with_a_snapshot_and_replay_reads_from_the_last(
    tmp_path: Path,
) -> None:
    j = Journal(tmp_path, rotate_bytes=4096, fsync_interval_s=0.005, keep_files=3)
    state = {"n": 0}
    j.open(lambda: {"orders": [], "n": state["n"]})
    for i in range(400):
        state["n"] = i
        j.append("new", {"cid": f"c{i}", "pad": "x" * 40})
    assert j.close()
    files = journal_files(tmp_path)
    assert j.rotations >= 5
    assert len(files) == 3  # older files pruned
    for path in files:
        first = decode_line(path.read_bytes().split(b"\n")[0])
        assert first is not None
        assert first["t"] == "snapshot"
    rep = replay(tmp_path)
    assert rep.files == [files[-1]]
    assert rep.records[0]["t"] == "snapshot"
    assert rep.records[-1]["cid"] == "c399"
    # the snapshot of the last file was taken right after the last record before it
    assert int(rep.records[1]["cid"][1:]) == rep.records[0]["n"] + 1 or rep.records[0]["n"] == 0


def test_torn_snapshot_falls_back_to_the_previous_file(tmp_path: Path) -> None:
    j = Journal(tmp_path, rotate_bytes=4096, fsync_interval_s=0.005)
    j.open(lambda: {"orders": []})
    for i in range(120):
        j.append("new", {"cid": f"c{i}", "pad": "x" * 40})
    assert j.close()
    files = journal_files(tmp_path)
    assert len(files) >= 2
    files[-1].write_bytes(files[-1].read_bytes()[:20])  # its snapshot is torn
    rep = replay(tmp_path)
    assert rep.files == files[-2:]
    assert rep.torn == 1


def test_reopen_continues_seq_in_a_new_file(tmp_path: Path) -> None:
    write(tmp_path, 3)
    first = replay(tmp_path)
    j = Journal(tmp_path, fsync_interval_s=0.005)
    j.open(lambda: {"orders": []}, last_seq=first.last_seq)
    j.append("new", {"cid": "after"})
    assert j.close()
    assert len(journal_files(tmp_path)) == 2
    rep = replay(tmp_path)
    assert rep.records[-1]["cid"] == "after"
    assert rep.records[-1]["seq"] == first.last_seq + 2  # snapshot, then the record


def test_append_returns_before_the_disk_and_flush_waits_for_it(tmp_path: Path) -> None:
    j = Journal(tmp_path, fsync_interval_s=0.2)
    j.open(lambda: {})
    before = j.fsyncs
    seq = j.append("new", {"cid": "a"})
    assert j.flush(timeout_s=5)
    assert j.fsyncs > before
    assert replay(tmp_path).last_seq == seq
    j.close()


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("not a directory")
    with pytest.raises(JournalError, match="cannot create"):
        Journal(target / "sub").open(dict)
