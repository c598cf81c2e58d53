"""Benchmark tabship.data: `tabship-data ingest` against a bare polars script, and validation.

    python bench/bench_data.py                       # both, at 2M/10M (ingest) and 1M/10M rows
    python bench/bench_data.py --compare-rows 2000000 --no-validate   # a quick ingest comparison
    python bench/bench_data.py --rows 1000000 --no-compare            # validation at one size
    python bench/bench_data.py --ingest              # also the in-process ingest of synthetic rows
    python bench/bench_data.py --json                # one JSON object

The ingest comparison writes a CSV of N Adult rows (adult.data's lines repeated, as a larger
Adult would look) under /tmp, then times, in turn, `tabship-data ingest FILE` (the config's
holdout file included) and a bare polars script (`read_csv`, strip the strings, `write_parquet`)
over the same file: best of --repeats each, alternating so both see the same machine. Each runs
as its own process, so its peak RSS (ru_maxrss from wait4) is its own, and both get the same
environment (so the same bytecode setting). The machine is shared: the load average is printed
with every figure.

The validation step is what ingest runs per chunk: pandera's polars backend, lazily, over a frame
already in the schema's dtypes, with 0.5% of rows made invalid so failure collection is included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "datasets" / "adult" / "data.yaml"
FAULT_SHARE = 0.005
CHUNK_ROWS = 1_000_000  # about what one 128 MiB block of Adult text holds (ingest's default)
ADULT_TRAIN = ROOT / "data" / "raw" / "adult.data"
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]  # fmt: skip
# What a person would write without tabship: read, strip the `, ` padding, write parquet.
BARE_SCRIPT = f"""
import sys
import polars as pl
frame = pl.read_csv(sys.argv[1], has_header=False, new_columns={COLUMNS!r}, infer_schema=False)
frame.with_columns(pl.col(pl.String).str.strip_chars()).write_parquet(sys.argv[2])
"""


def _rss_mb() -> float:
    """Current resident set size, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synthetic_adult(rows: int, seed: int = 7) -> Any:
    """ROWS Adult-like rows in the schema's dtypes, FAULT_SHARE of them invalid in one value."""
    import numpy as np
    import polars as pl

    from tabship.data.config.dataset import load_config
    from tabship.data.config.schema import load_schema

    schema = load_schema(load_config(CONFIG, "adult"))
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    ranges = {
        "age": (17, 91),
        "fnlwgt": (12_285, 1_490_401),
        "education-num": (1, 17),
        "capital-gain": (0, 100_000),
        "capital-loss": (0, 4_357),
        "hours-per-week": (1, 100),
    }
    for name, dtype in schema.dtypes.items():
        if dtype == pl.Int64:
            low, high = ranges[name]
            columns[name] = pl.Series(name, rng.integers(low, high, rows), dtype=pl.Int64)
        else:
            assert isinstance(dtype, pl.Enum)
            allowed = dtype.categories.to_list()
            picks = rng.integers(0, len(allowed), rows)
            columns[name] = pl.Series(name, allowed, dtype=pl.String).gather(picks).cast(dtype)
    frame = pl.DataFrame(columns)
    faults = rng.random(rows) < FAULT_SHARE
    return frame.with_columns(
        pl.when(pl.Series(faults)).then(999).otherwise(pl.col("age")).alias("age")
    )


def child_validate(rows: int, repeats: int) -> dict[str, Any]:
    """Time the validation step over ROWS rows, whole and in ingest-sized chunks.

    `validate` is pandera over a frame in the schema's dtypes. `coerce+validate` starts from the
    strings a CSV gives and includes the casts (for Adult, String -> Enum is where an unknown
    category is caught), so it is the whole cost of checking a row.
    """
    import polars as pl

    from tabship.data.config.dataset import load_config
    from tabship.data.config.schema import load_schema, validate
    from tabship.data.ingestion.coerce import CoercionCounts, coerce

    config = load_config(CONFIG, "adult")
    schema = load_schema(config)
    frame = synthetic_adult(rows)
    strings = frame.with_columns(pl.all().cast(pl.String))
    rss_before = _rss_mb()
    best = {"whole": float("inf"), "chunked": float("inf"), "coerce": float("inf")}
    failures = 0
    for _ in range(repeats):
        start = time.perf_counter()
        failures = validate(frame, schema, "synthetic").height
        best["whole"] = min(best["whole"], time.perf_counter() - start)
        start = time.perf_counter()
        for offset in range(0, rows, CHUNK_ROWS):
            validate(frame.slice(offset, CHUNK_ROWS), schema, "synthetic")
        best["chunked"] = min(best["chunked"], time.perf_counter() - start)
        start = time.perf_counter()
        for offset in range(0, rows, CHUNK_ROWS):
            chunk = strings.slice(offset, CHUNK_ROWS)
            typed, _ = coerce(
                chunk,
                schema,
                config.reader,
                target=config.target.column,
                source="synthetic",
                counts=CoercionCounts(),
            )
            validate(typed.select(list(schema.dtypes)), schema, "synthetic")
        best["coerce"] = min(best["coerce"], time.perf_counter() - start)
    return {
        "mode": "validate",
        "rows": rows,
        "failures": failures,
        "seconds_whole": round(best["whole"], 3),
        "rows_per_s_whole": round(rows / best["whole"]),
        "seconds_chunked": round(best["chunked"], 3),
        "rows_per_s_chunked": round(rows / best["chunked"]),
        "seconds_coerce_validate": round(best["coerce"], 3),
        "rows_per_s_coerce_validate": round(rows / best["coerce"]),
        "rss_before_mb": round(rss_before, 1),
        "peak_rss_mb": round(_peak_mb(), 1),
    }


def child_make_csv(rows: int, path: Path) -> dict[str, Any]:
    """Write ROWS synthetic rows as Adult-format text (`, ` separated, no header)."""
    import polars as pl

    frame = synthetic_adult(rows)
    text = frame.select(
        pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("?") for c in frame.columns], separator=", "
        )
    )
    text.write_csv(path, include_header=False, quote_style="never")
    return {"bytes": path.stat().st_size}


def child_ingest(path: Path, store: Path) -> dict[str, Any]:
    """Time a full ingest of PATH (plus Adult's holdout file) into STORE."""
    from tabship.data import RunRejectedError, ingest

    start = time.perf_counter()
    try:
        result = ingest("adult", [path], config=CONFIG, store=store)
    except RunRejectedError as exc:
        result = exc.result
    seconds = time.perf_counter() - start
    return {
        "mode": "ingest",
        "rows": result.rows_in,
        "accepted": result.rows_accepted,
        "quarantined": result.rows_quarantined,
        "status": result.status,
        "seconds": round(seconds, 2),
        "rows_per_s": round(result.rows_in / seconds),
        "peak_rss_mb": round(_peak_mb(), 1),
    }


def adult_csv(rows: int, path: Path) -> int:
    """ROWS lines of adult.data, repeated in order, at PATH; its size in bytes."""
    lines = [line for line in ADULT_TRAIN.read_bytes().split(b"\n") if line.strip()]
    block = b"\n".join(lines) + b"\n"
    full, rest = divmod(rows, len(lines))
    with path.open("wb") as handle:
        for _ in range(full):
            handle.write(block)
        if rest:
            handle.write(b"\n".join(lines[:rest]) + b"\n")
    return path.stat().st_size


def _timed(command: list[str]) -> tuple[float, float]:
    """Run COMMAND; its wall seconds and its peak RSS in MB (ru_maxrss of the child alone)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {errors.strip()}")
    return seconds, usage.ru_maxrss / 1024


def compare_ingest(rows: int, repeats: int) -> dict[str, Any]:
    """Best-of-REPEATS wall time and peak RSS of `tabship-data ingest` and the bare script."""
    cli = str(Path(sys.executable).with_name("tabship-data"))
    best: dict[str, tuple[float, float]] = {}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tabship-bench-data-") as tmp:
        folder = Path(tmp)
        csv_path = folder / f"adult_{rows}.data"
        size = adult_csv(rows, csv_path)
        store, out = folder / "store", folder / "bare.parquet"
        ingest = [cli, "ingest", str(csv_path), "--config", str(CONFIG), "--store", str(store)]
        commands = {
            "ingest": [*ingest, "--quiet"],
            "bare": [sys.executable, "-c", BARE_SCRIPT, str(csv_path), str(out)],
        }
        for _ in range(repeats):
            for name, command in commands.items():
                shutil.rmtree(store, ignore_errors=True)  # a new version every time
                loads.append(os.getloadavg()[0])
                seconds, peak = _timed(command)
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, max(peak, best.get(name, (0.0, 0.0))[1]))
                else:
                    best[name] = (best[name][0], max(peak, best[name][1]))
    return {
        "mode": "compare",
        "rows": rows,
        "csv_bytes": size,
        "ingest_s": round(best["ingest"][0], 2),
        "bare_s": round(best["bare"][0], 2),
        "ratio": round(best["ingest"][0] / best["bare"][0], 2),
        "ingest_peak_rss_mb": round(best["ingest"][1]),
        "bare_peak_rss_mb": round(best["bare"][1]),
        "loadavg_1min": [round(x, 2) for x in loads],
    }


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    return result


def _print(summary: dict[str, Any], repeats: int) -> None:
    results: list[dict[str, Any]] = summary["results"]
    print(f"load average {summary['loadavg']}, {summary['cpus']} CPUs; best of {repeats}")
    compared = [r for r in results if r["mode"] == "compare"]
    if compared:
        print(
            f"{'rows':>11} {'CSV MB':>7} {'ingest s':>9} {'bare s':>7} {'ratio':>6} "
            f"{'ingest RSS MB':>14} {'bare RSS MB':>12}  load average (1 min) at each run"
        )
    for r in compared:
        loads = " ".join(f"{x:.2f}" for x in r["loadavg_1min"])
        print(
            f"{r['rows']:>11,} {r['csv_bytes'] / 1e6:>7,.0f} {r['ingest_s']:>9.2f} "
            f"{r['bare_s']:>7.2f} {r['ratio']:>6.2f} {r['ingest_peak_rss_mb']:>14,} "
            f"{r['bare_peak_rss_mb']:>12,}  {loads}"
        )
    for r in results:
        if r["mode"] == "compare":
            continue
        if r["mode"] == "validate":
            print(
                f"validate {r['rows']:>11,} rows: {r['rows_per_s_whole'] / 1e6:6.1f}M rows/s whole, "
                f"{r['rows_per_s_chunked'] / 1e6:6.1f}M rows/s in {CHUNK_ROWS:,}-row chunks, "
                f"{r['rows_per_s_coerce_validate'] / 1e6:5.1f}M rows/s coerce+validate from "
                f"strings; {r['failures']:,} failures; RSS {r['rss_before_mb']:,.0f} MB before, "
                f"peak {r['peak_rss_mb']:,.0f} MB"
            )
        else:
            print(
                f"ingest   {r['rows']:>11,} rows: {r['seconds']:.1f} s, "
                f"{r['rows_per_s'] / 1e6:.2f}M rows/s, {r['csv_bytes'] / 1e6:,.0f} MB of CSV, "
                f"peak RSS {r['peak_rss_mb']:,.0f} MB ({r['status']}, "
                f"{r['quarantined']:,} quarantined)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--compare-rows", type=int, nargs="+", default=[2_000_000, 10_000_000],
        help="CSV sizes for the `tabship-data ingest` vs bare polars comparison",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-compare", action="store_true", help="skip the ingest comparison")
    parser.add_argument("--no-validate", action="store_true", help="skip the validation step")
    parser.add_argument("--ingest", action="store_true", help="also ingest synthetic rows")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        mode, *rest = args.child
        if mode == "validate":
            out = child_validate(int(rest[0]), int(rest[1]))
        elif mode == "make-csv":
            out = child_make_csv(int(rest[0]), Path(rest[1]))
        else:
            out = child_ingest(Path(rest[0]), Path(rest[1]))
        print(json.dumps(out))
        return 0

    results: list[dict[str, Any]] = []
    load = os.getloadavg()
    if not args.no_compare:
        results.extend(compare_ingest(rows, args.repeats) for rows in args.compare_rows)
    for rows in [] if args.no_validate else args.rows:
        results.append(_child("validate", str(rows), str(args.repeats)))
    for rows in args.rows if args.ingest else []:
        with tempfile.TemporaryDirectory(prefix="tabship-bench-data-") as tmp:
            csv_path = Path(tmp) / f"synthetic_{rows}.data"
            made = _child("make-csv", str(rows), str(csv_path))
            run = _child("ingest", str(csv_path), str(Path(tmp) / "store"))
            results.append(run | {"csv_bytes": made["bytes"]})
    summary = {"loadavg": [round(x, 2) for x in load], "cpus": os.cpu_count(), "results": results}
    if args.json:
        print(json.dumps(summary))
        return 0
    _print(summary, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
