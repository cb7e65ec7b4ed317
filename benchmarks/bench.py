"""Benchmark: kneeflags against the least any fitparse-based tool must do.

Generates a realistic corpus (N one-hour runs at 1 Hz with cadence, altitude
and positions, plus a few GPX files), then measures, interleaved, over several
repetitions (medians):

(a) baseline: a plain loop reading every record of every FIT file with
    fitparse and summing distance per ISO week;
(b) ``kneeflags analyze`` cold (``--no-cache``), as a subprocess;
(c) ``kneeflags analyze`` warm (cache already filled), as a subprocess;
(d) peak memory of (b): the largest resident set summed over the process
    tree (parent + workers), sampled from /proc every 20 ms.

Results are ratios to (a) measured in the same run, printed and written with
machine notes to ``benchmarks/RESULTS.md``. Wall-clock numbers are never
asserted anywhere; they only feed the ratios.

Usage: ``python benchmarks/bench.py [--files 300] [--gpx 5] [--reps 3]``
(``make bench`` runs the defaults; ``--memory-files 3000`` adds a cold run over
that many files for the memory target only; ``--export-members 20000`` adds a cold and a
warm run over one Strava-style export zip of that many members, the many-member case
of issue 10: before archives were kept open per pass it was quadratic).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


# -- corpus ----------------------------------------------------------------
def generate_corpus(root: Path, n_fit: int, n_gpx: int) -> list[Path]:
    """N one-hour 1 Hz FIT runs spread over a year, plus a few GPX runs (deterministic)."""
    from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

    root.mkdir(parents=True, exist_ok=True)
    paths = []
    first = dt.datetime(2025, 1, 6, 6, 30, tzinfo=dt.UTC)
    for i in range(n_fit):
        path = root / f"run_{i:04d}.fit"
        if not path.exists():
            start = first + dt.timedelta(days=i * 365 / max(n_fit, 1), hours=i % 10)
            records = synthetic_run(fit_time(start), 3600, seed=i)
            path.write_bytes(write_activity(records, utc_offset_s=3600))
        paths.append(path)
    rng = np.random.default_rng(7)
    for i in range(n_gpx):
        path = root / f"phone_{i:03d}.gpx"
        if not path.exists():
            start = first + dt.timedelta(days=3 + i * 7, hours=18)
            path.write_text(_gpx_text(rng, start, 3600), encoding="utf-8")
        paths.append(path)
    return paths


def generate_export(path: Path, members: int) -> Path:
    """A Strava-style export zip: ``activities.csv``, one short FIT run per 100 members,
    the rest one-byte files (what made reopening the archive per member quadratic)."""
    import zipfile

    from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    first = dt.datetime(2025, 1, 6, 6, 30, tzinfo=dt.UTC)
    rows = ["Activity ID,Activity Type,Filename"]
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for i in range(members):
            if i % 100 == 0:
                start = first + dt.timedelta(days=i // 100, hours=7)
                data = write_activity(synthetic_run(fit_time(start), 600, seed=i))
                name = f"activities/{i:06d}.fit"
                rows.append(f"{i},Run,{name}")
            else:
                data, name = b"x", f"activities/{i:06d}.txt"
            zf.writestr(name, data)
        zf.writestr("activities.csv", "\n".join(rows) + "\n")
    tmp.replace(path)
    return path


def _gpx_text(rng: np.random.Generator, start: dt.datetime, seconds: int) -> str:
    """A phone-style GPX run: 1 Hz points with elevation and strides/min cadence."""
    t = np.arange(seconds, dtype=np.float64)
    speed = 3.0 + 0.3 * np.sin(t / 400.0) + rng.normal(0, 0.05, seconds)
    distance = np.cumsum(speed)
    altitude = 80 + 15 * np.sin(distance / 900.0) + rng.normal(0, 0.3, seconds)
    spm = 166 + 4 * (speed - 3.0) + rng.normal(0, 1.5, seconds)
    lat = 51.5 + 0.01 * np.sin(distance / 1500.0)
    lon = -0.12 + 0.016 * np.cos(distance / 1500.0)
    stamps = [(start + dt.timedelta(seconds=float(s))).strftime("%Y-%m-%dT%H:%M:%SZ") for s in t]
    points = "".join(
        f'<trkpt lat="{a:.7f}" lon="{o:.7f}"><ele>{e:.1f}</ele><time>{s}</time>'
        f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:cad>{c / 2:.0f}</gpxtpx:cad>"
        "</gpxtpx:TrackPointExtension></extensions></trkpt>"
        for a, o, e, s, c in zip(lat, lon, altitude, stamps, spm, strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="bench" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>bench</name><type>running</type><trkseg>{points}</trkseg></trk></gpx>"
    )


# -- measurements ------------------------------------------------------------
def baseline_fitparse(paths: list[Path]) -> dict[str, float]:
    """(a) Every record of every FIT file through fitparse, distance summed per ISO week."""
    import fitparse

    weekly: dict[str, float] = defaultdict(float)
    for path in paths:
        if path.suffix != ".fit":
            continue
        last = 0.0
        week = None
        for record in fitparse.FitFile(str(path)).get_messages("record"):
            values = record.get_values()
            ts = values.get("timestamp")
            if ts is not None:
                iso = ts.isocalendar()
                week = f"{iso[0]}-W{iso[1]:02d}"
            dist = values.get("distance")
            if dist is not None and week is not None:
                weekly[week] += max(0.0, dist - last)
                last = dist
    return dict(weekly)


def _tree_rss_kib(pid: int) -> int:
    """Resident set of ``pid`` and all its descendants, in KiB (Linux /proc)."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as handle:
                    stack.extend(int(c) for c in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run the kneeflags CLI; returns (seconds, peak tree RSS in KiB)."""
    exe = Path(sys.executable).with_name("kneeflags")
    command = [str(exe), *args] if exe.exists() else [sys.executable, "-m", "kneeflags", *args]
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"kneeflags failed ({proc.returncode}): {err.decode()[-2000:]}")
    return elapsed, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300, help="one-hour FIT runs")
    parser.add_argument("--gpx", type=int, default=5, help="GPX runs")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians reported)")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus", help="generated files")
    parser.add_argument("--memory-files", type=int, default=0, help="extra cold run, memory only")
    parser.add_argument(
        "--export-members", type=int, default=0, help="extra runs over one export of N members"
    )
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)

    print(f"generating {args.files} FIT + {args.gpx} GPX runs in {args.corpus} ...", flush=True)
    paths = generate_corpus(args.corpus / f"n{args.files}", args.files, args.gpx)
    fit_paths = [p for p in paths if p.suffix == ".fit"]
    records = args.files * 3600
    target = str(args.corpus / f"n{args.files}")

    cache_dir = Path(tempfile.mkdtemp(prefix="kneeflags-bench-cache-"))
    env = dict(os.environ)
    common = ["analyze", target, "--format", "json", "--output", os.devnull, "--tz", "UTC"]
    cold_args = [*common, "--no-cache"]
    warm_args = [*common, "--cache-dir", str(cache_dir)]
    run_cli(warm_args, env)  # fill the cache once

    base_t: list[float] = []
    cold_t: list[float] = []
    warm_t: list[float] = []
    cold_rss: list[int] = []
    for rep in range(args.reps):
        t0 = time.perf_counter()
        baseline_fitparse(fit_paths)
        base_t.append(time.perf_counter() - t0)
        seconds, rss = run_cli(cold_args, env)
        cold_t.append(seconds)
        cold_rss.append(rss)
        warm_t.append(run_cli(warm_args, env)[0])
        print(
            f"rep {rep + 1}: baseline {base_t[-1]:.2f}s  cold {cold_t[-1]:.2f}s  "
            f"warm {warm_t[-1]:.2f}s  cold peak RSS {rss / 1024:.0f} MiB",
            flush=True,
        )
    shutil.rmtree(cache_dir, ignore_errors=True)

    base = statistics.median(base_t)
    cold = statistics.median(cold_t)
    warm = statistics.median(warm_t)
    rss_mib = max(cold_rss) / 1024
    rows = [
        ("(a) fitparse baseline loop", base, 1.0),
        ("(b) kneeflags analyze, cold (--no-cache)", cold, base / cold),
        ("(c) kneeflags analyze, warm (cache hit)", warm, base / warm),
    ]
    memory_line = f"(d) peak RSS of (b), process tree: {rss_mib:.0f} MiB"
    if args.memory_files:
        print(f"generating {args.memory_files} files for the memory run ...", flush=True)
        generate_corpus(args.corpus / f"n{args.memory_files}", args.memory_files, 0)
        mem_args = ["analyze", str(args.corpus / f"n{args.memory_files}"), "--format", "json",
                    "--output", os.devnull, "--tz", "UTC", "--no-cache"]  # fmt: skip
        seconds, rss = run_cli(mem_args, env)
        memory_line += (
            f"; cold run over {args.memory_files} files: {seconds:.1f} s, "
            f"peak RSS {rss / 1024:.0f} MiB"
        )

    export_line = ""
    if args.export_members:
        print(f"generating an export of {args.export_members} members ...", flush=True)
        export = generate_export(
            args.corpus / f"export_{args.export_members}.zip", args.export_members
        )
        export_cache = Path(tempfile.mkdtemp(prefix="kneeflags-bench-export-"))
        export_args = ["analyze", str(export), "--format", "json", "--output", os.devnull,
                       "--tz", "UTC", "--cache-dir", str(export_cache)]  # fmt: skip
        cold_s, cold_kib = run_cli(export_args, env)
        warm_s, _ = run_cli(export_args, env)
        shutil.rmtree(export_cache, ignore_errors=True)
        export_line = (
            f"(e) one export of {args.export_members:,} members: cold {cold_s:.1f} s "
            f"({cold_s / args.export_members * 1e3:.2f} ms per member, peak RSS "
            f"{cold_kib / 1024:.0f} MiB), warm {warm_s:.1f} s"
        )
        print(export_line, flush=True)

    per_rep = "; ".join(
        f"{a:.1f} / {b:.2f} / {c:.2f}" for a, b, c in zip(base_t, cold_t, warm_t, strict=True)
    )
    cold_each = ", ".join(f"{a / b:.0f}×" for a, b in zip(base_t, cold_t, strict=True))
    lines = [
        "# kneeflags benchmark results",
        "",
        f"Generated by `make bench` on {dt.date.today().isoformat()} "
        f"({args.files} one-hour 1 Hz FIT runs = {records:,} records, plus {args.gpx} GPX; "
        f"{args.reps} interleaved repetitions, medians).",
        "",
        "| measurement | median seconds | speed-up vs (a) |",
        "|---|---:|---:|",
        *[f"| {name} | {seconds:.2f} | {ratio:.1f}× |" for name, seconds, ratio in rows],
        "",
        f"Per repetition, seconds (a / b / c): {per_rep}. Cold speed-up per repetition: "
        f"{cold_each}; the spread is the machine's noise (a shared VM's speed drifts).",
        "",
        memory_line,
        "",
        *([export_line, ""] if export_line else []),
        "Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}.",
        "",
        "Targets (issue 5): cold ≥ 50× and warm ≥ 100× the baseline; < 500 MB for 3,000 files.",
        "Ratios, not seconds, are what carry across machines: (a) is measured in the same run.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.results.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
