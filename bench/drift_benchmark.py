"""mlpy.drift against Evidently 0.7.23 on the same data, in one run: speed, memory, detection quality.

Run ``bash bench/drift_setup.sh`` once (Evidently's own venv), then
``.venv/bin/python bench/drift_benchmark.py`` (``--rows 100000`` for a quick look). Data: 1,000,000
reference and 1,000,000 current rows, 22 numeric and 5 categorical columns with known changes, written
once to bench/.data-drift/. Both tools run as subprocesses under /usr/bin/time, so wall time and peak
RSS are measured the same way.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data-drift"
EVIDENTLY_PYTHON = HERE / ".venv-evidently" / "bin" / "python"
MLPY = Path(sys.executable).with_name("mlpy")

# What changed in the current window, per column; "unchanged" and "trivial" columns must not be flagged.
CHANGES = {
    "n00": "mean +0.25 sd (normal)",
    "n01": "scale x1.3 (lognormal)",
    "n02": "shift +10% of range (uniform)",
    "n03": "sd x1.5 (normal)",
    "n04": "sd x0.7 (normal)",
    "n05": "trivial: mean +0.02 sd",
    "n06": "trivial: scale x1.02 (exponential)",
    "n20": "unimodal -> bimodal, same mean and sd",
    "n21": "normal -> Student t(5), same sd",
    "c00": "frequencies 50/30/20 -> 42/33/25",
    "c01": "new category with 8% of rows",
    "c02": "trivial: frequencies move 0.3 points",
}
MATERIAL = {name for name, change in CHANGES.items() if not change.startswith("trivial")}


def generate(rows: int, folder: Path) -> tuple[Path, Path]:
    """Reference and current Parquet files (cached per row count)."""
    folder.mkdir(parents=True, exist_ok=True)
    # v2: with the shape columns n20 and n21.
    reference_path = folder / f"reference-{rows}-v2.parquet"
    current_path = folder / f"current-{rows}-v2.parquet"
    if reference_path.exists() and current_path.exists():
        return reference_path, current_path
    rng = np.random.default_rng(20261127)
    tables = []
    for side in ("reference", "current"):
        changed = side == "current"
        columns: dict[str, Any] = {
            "n00": rng.normal(0.25 if changed else 0.0, 1.0, rows),
            "n01": rng.lognormal(0.0, 1.0, rows) * (1.3 if changed else 1.0),
            "n02": rng.uniform(0.0, 1.0, rows) + (0.1 if changed else 0.0),
            "n03": rng.normal(5.0, 1.5 if changed else 1.0, rows),
            "n04": rng.normal(-2.0, 0.7 if changed else 1.0, rows),
            "n05": rng.normal(100.0 + (0.2 if changed else 0.0), 10.0, rows),
            "n06": rng.exponential(1.02 if changed else 1.0, rows),
        }
        shapes = [
            lambda: rng.normal(0, 1, rows),
            lambda: rng.lognormal(1, 0.5, rows),
            lambda: rng.uniform(-1, 1, rows),
            lambda: rng.exponential(2.0, rows),
            lambda: rng.poisson(3.0, rows).astype(np.float64),
            lambda: rng.standard_t(4, rows),
        ]
        for index in range(7, 20):
            columns[f"n{index:02d}"] = shapes[index % len(shapes)]()
        # Same mean (0) and variance (1) on both sides; only the shape changes, which KS's D barely sees.
        gap = 0.78
        halves = np.where(rng.random(rows) < 0.5, -gap, gap)
        columns["n20"] = (
            rng.normal(0, np.sqrt(1 - gap**2), rows) + halves if changed else rng.normal(0, 1, rows)
        )
        columns["n21"] = rng.standard_t(5, rows) * np.sqrt(3 / 5) if changed else rng.normal(0, 1, rows)
        # 2% missing on both sides: handled, and not a change.
        columns["n07"][rng.random(rows) < 0.02] = np.nan
        columns["c00"] = _categories(
            rng, rows, ["a", "b", "c"], [0.42, 0.33, 0.25] if changed else [0.5, 0.3, 0.2]
        )
        base = [0.4, 0.3, 0.2, 0.1]
        if changed:
            columns["c01"] = _categories(
                rng, rows, ["a", "b", "c", "d", "new"], [p * 0.92 for p in base] + [0.08]
            )
        else:
            columns["c01"] = _categories(rng, rows, ["a", "b", "c", "d"], base)
        trivial = [0.397, 0.302, 0.2, 0.101] if changed else base
        columns["c02"] = _categories(rng, rows, ["a", "b", "c", "d"], trivial)
        columns["c03"] = _categories(rng, rows, ["x", "y", "z", "w"], [0.25, 0.25, 0.25, 0.25])
        zipf = 1.0 / np.arange(1, 101)
        columns["c04"] = _categories(rng, rows, [f"item-{k}" for k in range(100)], list(zipf / zipf.sum()))
        tables.append(pa.table(columns))
    pq.write_table(tables[0], reference_path)
    pq.write_table(tables[1], current_path)
    return reference_path, current_path


def _categories(rng: np.random.Generator, rows: int, labels: list[str], p: list[float]) -> pa.Array:
    codes = rng.choice(len(labels), size=rows, p=np.asarray(p) / np.sum(p)).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(labels)).cast(pa.string())


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    stdout: str


def measured(command: list[str]) -> Run:
    """Like run(), but through /usr/bin/time so peak RSS is reported for this child alone."""
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    peak_kb = next(
        int(line.split(":")[1]) for line in result.stderr.splitlines() if "Maximum resident set size" in line
    )
    return Run(seconds, peak_kb / 1024, result.stdout)


def floor_seconds(current: Path, numeric: list[str], categorical: list[str]) -> float:
    """Reading the current window, sorting its numeric columns and counting its categories: the floor.

    Single-threaded numpy (Arrow reads with its own threads); the check spreads columns over threads.
    """
    started = time.perf_counter()
    table = pq.read_table(current)
    for name in numeric:
        values = table.column(name).to_numpy()
        np.sort(values[np.isfinite(values)])
    for name in categorical:
        pc.value_counts(table.column(name))
    return time.perf_counter() - started


def mlpy_check_seconds(profile: Path, current: Path, shape: bool = True) -> float:
    """The whole check in process: loading the profile, reading the current file, judging every column.

    ``shape=False`` judges KS columns on KS alone, as before the shape test: its cost is the difference.
    """
    from mlpy.drift import DEFAULT_SHAPE_MIN_EFFECT, DriftProfile, check

    started = time.perf_counter()
    check(DriftProfile.load(profile), current, shape_min_effect=DEFAULT_SHAPE_MIN_EFFECT if shape else None)
    return time.perf_counter() - started


def _line(label: str, run: Run) -> None:
    print(f"{label:40} {run.seconds:7.2f} s  peak RSS {run.peak_rss_mb:6.0f} MB")


def best(fn: Any, *args: Any, repeat: int = 3) -> float:
    return min(float(fn(*args)) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true", help="Only measure mlpy.")
    options = parser.parse_args()
    if not options.skip_evidently and not EVIDENTLY_PYTHON.exists():
        raise SystemExit("run 'bash bench/drift_setup.sh' first (creates bench/.venv-evidently)")

    print(f"data: {options.rows:,} reference + {options.rows:,} current rows, 22 numeric + 5 categorical")
    reference, current = generate(options.rows, DATA)
    schema = pq.read_schema(reference)
    numeric = [f.name for f in schema if pa.types.is_floating(f.type)]
    categorical = [f.name for f in schema if f.name not in numeric]

    profile_path = DATA / f"profile-{options.rows}.npz"
    profiling = measured([str(MLPY), "drift", "profile", "-r", str(reference), "--out", str(profile_path)])
    check_cli = [
        str(MLPY),
        "drift",
        "check",
        "-p",
        str(profile_path),
        "-c",
        str(current),
        "-o",
        "json",
        "--no-store",
    ]
    cli = min((measured(check_cli) for _ in range(3)), key=lambda r: r.seconds)
    ours = json.loads(cli.stdout)
    floor = best(floor_seconds, current, numeric, categorical)
    in_process = best(mlpy_check_seconds, profile_path, current)
    ks_only = best(mlpy_check_seconds, profile_path, current, False)

    startup = min((measured([str(MLPY), "--version"]) for _ in range(3)), key=lambda r: r.seconds)
    _line("mlpy profile (once)", profiling)
    _line("mlpy check, CLI process, best of 3", cli)
    print(f"{'mlpy check in process, best of 3':40} {in_process:7.2f} s")
    print(
        f"{'  the same, KS alone (--no-shape)':40} {ks_only:7.2f} s  (shape cost {in_process / ks_only:.2f}x)"
    )
    _line("  of which CLI start-up (mlpy --version)", startup)
    print(f"{'floor: read + sort + count, best of 3':40} {floor:7.2f} s")
    print(f"  check / floor: {in_process / floor:.2f}x (goal <= 3x)")

    theirs: dict[str, Any] | None = None
    if not options.skip_evidently:
        result_path = DATA / f"evidently-{options.rows}.json"
        script = str(HERE / "drift_evidently_run.py")
        evidently = measured([str(EVIDENTLY_PYTHON), script, str(reference), str(current), str(result_path)])
        theirs = json.loads(result_path.read_text())
        _line("Evidently DataDriftPreset process", evidently)
        print(f"  of which report {theirs['report_seconds']:.2f} s, reading {theirs['read_seconds']:.2f} s")
        speedup = theirs["report_seconds"] / cli.seconds
        print(f"  speed-up, Evidently report / mlpy CLI check: {speedup:.1f}x (goal >= 50x)")
        in_process_speedup = theirs["report_seconds"] / in_process
        print(
            f"  speed-up, Evidently report / mlpy check in process: {in_process_speedup:.1f}x (goal >= 50x)"
        )
        print(f"  speed-up, Evidently process / mlpy CLI check: {evidently.seconds / cli.seconds:.1f}x")
        print(
            f"  peak memory, mlpy / Evidently: {cli.peak_rss_mb / evidently.peak_rss_mb:.3f} (goal <= 0.25)"
        )

    _detection_table(ours, theirs, numeric + categorical)


def _detection_table(ours: dict[str, Any], theirs: dict[str, Any] | None, columns: list[str]) -> None:
    print(f"\n{'column':7} {'change':36} {'mlpy (method: statistic)':33} evidently (method: score)")
    tally = {"mlpy": [0, 0], "evidently": [0, 0]}
    for name in columns:
        change = CHANGES.get(name, "unchanged")
        feature = ours["features"][name]
        mine = (
            f"{'DRIFT' if feature['drifted'] else 'ok':5} {feature['method']}: {_num(feature['statistic'])}"
        )
        line = f"{name:7} {change:36} {mine:33}"
        _count(tally["mlpy"], name, feature["drifted"])
        if theirs is not None:
            other = theirs["columns"][name]
            line += f" {'DRIFT' if other['drifted'] else 'ok':5} {other['method']}: {_num(other['score'])}"
            _count(tally["evidently"], name, other["drifted"])
        print(line)
    unchanged = len(columns) - len(MATERIAL)
    for tool, (hits, false_alarms) in tally.items():
        if tool == "evidently" and theirs is None:
            continue
        print(
            f"{tool:10} flags {hits} of {len(MATERIAL)} changed columns and {false_alarms} of {unchanged} "
            "unchanged or trivially changed ones"
        )


def _count(tally: list[int], name: str, drifted: bool) -> None:
    if drifted and name in MATERIAL:
        tally[0] += 1
    elif drifted:
        tally[1] += 1


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


if __name__ == "__main__":
    main()
