"""The compacted prediction log: no line lost, nothing written twice, broken lines quarantined."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import polars as pl

from tabship.models.monitoring.labels import read_labels
from tabship.models.monitoring.logstore import QUARANTINE, STATE, compact, read_window

FEATURES = {"age": pl.Int64(), "workclass": pl.String()}


def _line(i: int, day: int = 2, **override: object) -> str:
    record: dict[str, object] = {
        "age": 20 + i % 50, "workclass": "Private" if i % 3 else None,
        "score": (i % 100) / 100, "label": int(i % 100 >= 50),
        "prediction_id": f"req{i // 10}-{i % 10}", "model_version": "1",
        "timestamp": f"2026-12-0{day}T10:00:{i % 60:02d}.000001", "request_id": str(10**18 + i),
        "trace_id": "0",
    }  # fmt: skip
    record.update(override)
    return json.dumps(record)


def _write(log: Path, lines: list[str], name: str = "data.1.log") -> None:
    log.mkdir(parents=True, exist_ok=True)
    with (log / name).open("a", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)


def test_every_line_is_written_or_quarantined_once(tmp_path: Path) -> None:
    log, store = tmp_path / "log", tmp_path / "store"
    lines = [_line(i) for i in range(300)] + [_line(i, day=3) for i in range(300, 400)]
    lines[10] = '{"age": 31, "score": '  # cut short
    lines[20] = _line(20, score="high")  # a score that is not a number
    lines[30] = _line(30, score=1.5)  # outside [0, 1]
    lines[40] = _line(40, timestamp="yesterday")
    lines[50] = json.dumps({"prediction_id": "x"})  # fields missing
    _write(log, lines)
    result = compact(log, store, FEATURES)
    assert result.lines_read == 400
    assert result.lines_read == result.rows_written + result.lines_quarantined + result.duplicates
    assert (result.rows_written, result.lines_quarantined) == (395, 5)
    quarantined = [json.loads(x) for x in (store / QUARANTINE).read_text().splitlines()]
    assert sorted(q["line"] for q in quarantined) == [11, 21, 31, 41, 51]  # 1-based lines
    assert all(q["file"] == "data.1.log" and q["raw"] for q in quarantined)
    assert sorted(p.name for p in store.glob("date=*")) == ["date=2026-12-02", "date=2026-12-03"]
    window = read_window(store)
    assert window.height == 395 and window["ts"].is_sorted()
    assert window.schema["age"] == pl.Int64 and window.schema["score"] == pl.Float64
    assert read_window(store, 100)["ts"].min() >= window["ts"][295]

    again = compact(log, store, FEATURES)  # nothing new: nothing added
    assert (again.lines_read, again.rows_written) == (0, 0)
    assert read_window(store).height == 395


def test_appended_lines_and_a_lost_state_add_each_row_once(tmp_path: Path) -> None:
    log, store = tmp_path / "log", tmp_path / "store"
    _write(log, [_line(i) for i in range(100)])
    assert compact(log, store, FEATURES).rows_written == 100
    _write(log, [_line(i) for i in range(100, 150)])
    with (log / "data.1.log").open("a", encoding="utf-8") as handle:
        handle.write(_line(150)[:20])  # a line still being written: read next time, whole
    assert compact(log, store, FEATURES).rows_written == 50
    with (log / "data.1.log").open("a", encoding="utf-8") as handle:
        handle.write(_line(150)[20:] + "\n")
    assert compact(log, store, FEATURES).rows_written == 1
    (store / STATE).unlink()  # the offsets are lost: every line is read again, none stored twice
    lost = compact(log, store, FEATURES)
    assert (lost.lines_read, lost.rows_written, lost.duplicates) == (151, 0, 151)
    assert read_window(store).height == 151


def test_a_run_reads_up_to_where_the_log_ended_when_it_started(tmp_path: Path) -> None:
    """A service keeps appending while a run reads: the run stops at the size the log had when
    it started (one block, one part file), and the next run takes the rest, each row once."""
    log, store = tmp_path / "log", tmp_path / "store"
    _write(log, [_line(i) for i in range(1000)])
    written, stop = [1000], threading.Event()

    def service() -> None:
        while not stop.is_set():
            _write(log, [_line(i) for i in range(written[0], written[0] + 10)])
            written[0] += 10
            time.sleep(0.001)

    writer = threading.Thread(target=service)
    writer.start()
    try:
        first = compact(log, store, FEATURES)
    finally:
        stop.set()
        writer.join()
    assert first.rows_written >= 1000 and len(first.partitions) == 1
    second = compact(log, store, FEATURES)
    assert first.rows_written + second.rows_written == written[0]
    assert read_window(store).height == written[0]


def test_label_files_map_to_0_and_1_and_name_what_they_cannot_use(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "a.csv").write_text("prediction_id,label\np1,>50K\np2,<=50K\np3,maybe\n,>50K\n")
    (folder / "b.csv").write_text("prediction_id,label\np4,1\np5,0\n")
    (folder / "c.csv").write_text("id,truth\nx,1\n")
    labels = read_labels(folder, positive=">50K", negative="<=50K")
    assert dict(labels.frame.iter_rows()) == {"p1": 1, "p2": 0, "p4": 1, "p5": 0}
    assert [(b["file"], b["line"]) for b in labels.bad] == [
        ("a.csv", 4),
        ("a.csv", 5),
        ("c.csv", 1),
    ]
    assert read_labels(tmp_path / "none", positive="1").frame.height == 0
