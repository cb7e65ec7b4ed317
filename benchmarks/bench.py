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

Then, per format (issue 15), in process, one worker, cold, each against its own
reference loop over the same files in the same repetition:

(e) GPX: a real-runner-sized set (56 Garmin Connect GPX, ~65 MB, 175k points) read by
    ``parse_source`` (activities with positions, elevation, time, HR, cadence, sport)
    against a plain ``gpxpy.parse`` loop; and ``kneeflags analyze --no-cache --workers 1``
    over the same folder (a subprocess, start-up included) against the same loop;
(f) a Strava-export-shaped set (``.gpx``, ``.fit.gz``, ``.tcx.gz``): each format's
    ``parse_source`` against its reference loop (gpxpy; fitparse; ``xml.etree``
    pulling the same TCX fields), gunzip included on both sides;
(g) peak traced memory (tracemalloc) of ``parse_source`` per format, over the file size.

Results are ratios to the baselines measured in the same run, printed and written with
machine notes to ``benchmarks/RESULTS.md``. Wall-clock numbers are never
asserted anywhere; they only feed the ratios.

Usage: ``python benchmarks/bench.py [--files 300] [--gpx 5] [--reps 3] [--runner-gpx 56]
[--strava 12]``
(``make bench`` runs the defaults; ``--memory-files 3000`` adds a cold run over
that many files for the memory target only; ``--export-members 20000`` adds a cold and a
warm run over one Strava-style export zip of that many members, the many-member case
of issue 10: before archives were kept open per pass it was quadratic). ``--versus DIR``
measures only this tree's ``analyze`` cold and warm against another kneeflags tree's
(``git archive <commit> | tar -x -C DIR``), interleaved, without the fitparse loop.
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


RUNNER_POINTS = 3125
"""Points per file of the real-runner GPX set: 56 files x 3,125 = 175k points, ~65 MB."""


def generate_runner_gpx(root: Path, n: int) -> list[Path]:
    """``n`` Garmin Connect GPX exports of ~52-minute 1 Hz runs (deterministic)."""
    from kneeflags.testing.xmlwriter import garmin_gpx

    root.mkdir(parents=True, exist_ok=True)
    first = dt.datetime(2025, 1, 6, 6, 30, tzinfo=dt.UTC)
    paths = []
    for i in range(n):
        path = root / f"garmin_{i:03d}.gpx"
        if not path.exists():
            path.write_bytes(garmin_gpx(i, first + dt.timedelta(days=2 * i), RUNNER_POINTS))
        paths.append(path)
    return paths


def generate_strava_export(root: Path, n: int) -> dict[str, list[Path]]:
    """A Strava bulk export's activities folder: ``n`` each of .gpx, .fit.gz, .tcx.gz."""
    import gzip

    from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity
    from kneeflags.testing.xmlwriter import garmin_tcx, strava_gpx

    root.mkdir(parents=True, exist_ok=True)
    first = dt.datetime(2025, 2, 3, 7, 0, tzinfo=dt.UTC)
    out: dict[str, list[Path]] = {"gpx": [], "fit.gz": [], "tcx.gz": []}
    for i in range(n):
        start = first + dt.timedelta(days=3 * i, hours=i % 5)
        files = {
            "gpx": (f"{1000 + i}.gpx", lambda s=start, i=i: strava_gpx(i, s, 3600)),
            "fit.gz": (
                f"{2000 + i}.fit.gz",
                lambda s=start, i=i: gzip.compress(
                    write_activity(synthetic_run(fit_time(s), 3600, seed=i)), 6, mtime=0
                ),
            ),
            "tcx.gz": (
                f"{3000 + i}.tcx.gz",
                lambda s=start, i=i: gzip.compress(garmin_tcx(i, s, 3600), 6, mtime=0),
            ),
        }
        for kind, (name, make) in files.items():
            path = root / name
            if not path.exists():
                path.write_bytes(make())
            out[kind].append(path)
    return out


def baseline_gpxpy(paths: list[Path]) -> int:
    """A plain gpxpy loop: parse every file (the reference every GPX tool starts from)."""
    import gpxpy

    points = 0
    for path in paths:
        gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
        points += sum(len(seg.points) for trk in gpx.tracks for seg in trk.segments)
    return points


_TCD = "{http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2}"
_AX = "{http://www.garmin.com/xmlschemas/ActivityExtension/v2}"


def baseline_etree_tcx(paths: list[Path]) -> int:
    """A plain ``xml.etree`` loop pulling what kneeflags reads from each trackpoint."""
    import gzip
    from xml.etree import ElementTree as ET

    def num(el: object, path: str) -> float | None:
        text = el.findtext(path)  # type: ignore[attr-defined]
        return float(text) if text else None

    rows = 0
    for path in paths:
        root = ET.fromstring(gzip.decompress(path.read_bytes()))
        for act in root.iter(f"{_TCD}Activity"):
            act.get("Sport")
            for tp in act.iter(f"{_TCD}Trackpoint"):
                text = tp.findtext(f"{_TCD}Time")
                dt.datetime.fromisoformat(text) if text else None
                num(tp, f"{_TCD}Position/{_TCD}LatitudeDegrees")
                num(tp, f"{_TCD}Position/{_TCD}LongitudeDegrees")
                num(tp, f"{_TCD}AltitudeMeters")
                num(tp, f"{_TCD}DistanceMeters")
                num(tp, f"{_TCD}HeartRateBpm/{_TCD}Value")
                num(tp, f"{_TCD}Cadence")
                num(tp, f".//{_AX}RunCadence")
                num(tp, f".//{_AX}Speed")
                rows += 1
    return rows


def baseline_fitparse_gz(paths: list[Path]) -> int:
    """(a)'s fitparse loop over gzipped FIT files (every record's values)."""
    import gzip
    import io

    import fitparse

    rows = 0
    for path in paths:
        fit = fitparse.FitFile(io.BytesIO(gzip.decompress(path.read_bytes())))
        for record in fit.get_messages("record"):
            record.get_values()
            rows += 1
    return rows


def kneeflags_in_process(paths: list[Path]) -> int:
    """kneeflags' unit of work, in this process, one file after another, no cache."""
    from kneeflags.model import SourceRef
    from kneeflags.parsers import parse_source

    n = 0
    for path in paths:
        res = parse_source(path.read_bytes(), SourceRef(str(path)))
        if not res.activities:
            raise SystemExit(f"kneeflags read nothing from {path}: {res.problems}")
        n += sum(a.samples.height for a in res.activities)
    return n


def peak_memory_ratio(path: Path) -> float:
    """Peak traced allocation (tracemalloc) of ``parse_source`` over the file's own size
    (inflated size for .gz: the inflated bytes are counted in the peak)."""
    import gzip
    import tracemalloc

    from kneeflags.model import SourceRef
    from kneeflags.parsers import parse_source

    data = path.read_bytes()
    size = len(gzip.decompress(data)) if path.name.endswith(".gz") else len(data)
    tracemalloc.start()
    try:
        parse_source(data, SourceRef(str(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / size


def _timed(fn: object, *args: object) -> float:
    t0 = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - t0


def format_section(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    """(e)-(g): each format against its own reference, every repetition listed."""
    runner = generate_runner_gpx(args.corpus / f"runner{args.runner_gpx}", args.runner_gpx)
    strava = generate_strava_export(args.corpus / f"strava{args.strava}", args.strava)
    mb = sum(p.stat().st_size for p in runner) / 1e6
    kneeflags_in_process(strava["gpx"][:1] + strava["tcx.gz"][:1] + strava["fit.gz"][:1])
    measures: dict[str, list[tuple[float, float]]] = defaultdict(list)
    pairs = [
        ("GPX, runner set, in process (parse_source vs gpxpy.parse)", runner, baseline_gpxpy),
        ("Strava GPX (parse_source vs gpxpy.parse)", strava["gpx"], baseline_gpxpy),
        ("Strava TCX.gz (parse_source vs xml.etree loop)", strava["tcx.gz"], baseline_etree_tcx),
        ("Strava FIT.gz (parse_source vs fitparse loop)", strava["fit.gz"], baseline_fitparse_gz),
    ]
    e2e = "GPX, runner set, end to end (`analyze --no-cache --workers 1` vs gpxpy.parse)"
    cli = ["analyze", str(runner[0].parent), "--format", "json", "--output", os.devnull,
           "--tz", "UTC", "--no-cache", "--workers", "1"]  # fmt: skip
    for rep in range(args.reps):
        for name, paths, baseline in pairs:
            base = _timed(baseline, paths)
            ours = _timed(kneeflags_in_process, paths)
            measures[name].append((base, ours))
            if paths is runner:
                measures[e2e].append((base, run_cli(cli, env)[0]))
        print(f"formats rep {rep + 1}: " + "; ".join(
            f"{k.split(' (')[0]} {v[-1][0] / v[-1][1]:.1f}x" for k, v in measures.items()
        ), flush=True)  # fmt: skip
    lines = [
        "## Each format against its own reference (issue 15)",
        "",
        f"In process, one worker, cold (no parse cache), {args.reps} interleaved repetitions; "
        f"runner set: {len(runner)} Garmin Connect GPX, {mb:.0f} MB, "
        f"{len(runner) * RUNNER_POINTS:,} points; Strava-shaped set: {args.strava} each of "
        ".gpx, .fit.gz, .tcx.gz (one-hour 1 Hz runs). Imports are warmed first.",
        "",
        "| format | reference s (per rep) | kneeflags s (per rep) | ratio per rep | median |",
        "|---|---|---|---|---:|",
    ]
    for name, runs in measures.items():
        ratios = [b / o for b, o in runs]
        lines.append(
            f"| {name} | {' / '.join(f'{b:.2f}' for b, _ in runs)} | "
            f"{' / '.join(f'{o:.2f}' for _, o in runs)} | "
            f"{', '.join(f'{r:.1f}×' for r in ratios)} | {statistics.median(ratios):.1f}× |"
        )
    memory = {
        "GPX (runner)": peak_memory_ratio(runner[0]),
        "Strava GPX": peak_memory_ratio(strava["gpx"][0]),
        "TCX.gz": peak_memory_ratio(strava["tcx.gz"][0]),
        "FIT.gz": peak_memory_ratio(strava["fit.gz"][0]),
    }
    lines += [
        "",
        "(g) peak traced memory of `parse_source` over the file size (tracemalloc: Python "
        "and numpy; polars' own allocator is not traced): "
        + ", ".join(f"{k} {v:.1f}×" for k, v in memory.items())
        + ".",
        "",
    ]
    return lines


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


def versus_section(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    """This tree against another kneeflags tree (``--versus``), interleaved, same files.

    Why: on a shared machine a ratio measured an hour earlier says little (the fitparse
    loop itself drifts from 79 to 126 s); the before/after of a change is best measured
    side by side. The other tree (``git archive <commit> | tar -x -C DIR``) is put first
    on ``PYTHONPATH`` for its runs, so the same interpreter and packages run both; the
    fitparse loop is not run. Cold is ``--no-cache``, warm a cache filled by that tree.
    """
    other = Path(args.versus).resolve()
    if not (other / "kneeflags" / "__init__.py").is_file():
        raise SystemExit(f"--versus {other}: no kneeflags package there")
    import compileall

    compileall.compile_dir(str(other / "kneeflags"), quiet=1)
    target = str(args.corpus / f"n{args.files}")
    envs = {"this": env, "versus": {**env, "PYTHONPATH": str(other)}}
    caches = {k: Path(tempfile.mkdtemp(prefix=f"kneeflags-bench-{k}-")) for k in envs}
    common = ["analyze", target, "--format", "json", "--output", os.devnull, "--tz", "UTC"]
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for k in envs:  # fill each cache (twice: the stat pre-check learns on a settled run)
        run_cli([*common, "--cache-dir", str(caches[k])], envs[k])
        run_cli([*common, "--cache-dir", str(caches[k])], envs[k])
    for rep in range(args.reps):
        for k in ("versus", "this"):
            times[(k, "cold")].append(run_cli([*common, "--no-cache"], envs[k])[0])
            times[(k, "warm")].append(run_cli([*common, "--cache-dir", str(caches[k])], envs[k])[0])
        print(f"versus rep {rep + 1}: " + "; ".join(
            f"{k} {w} {v[-1]:.2f}s" for (k, w), v in times.items()
        ), flush=True)  # fmt: skip
    for cache in caches.values():
        shutil.rmtree(cache, ignore_errors=True)
    lines = [
        f"## This tree against {other}, interleaved ({args.files} FIT files, "
        f"{args.reps} repetitions)",
        "",
        "| run | other tree, s (per rep) | this tree, s (per rep) | median ratio |",
        "|---|---|---|---:|",
    ]
    for what in ("cold", "warm"):
        mine, theirs = times[("this", what)], times[("versus", what)]
        ratio = statistics.median(t / m for t, m in zip(theirs, mine, strict=True))
        lines.append(
            f"| {what} | {' / '.join(f'{t:.2f}' for t in theirs)} | "
            f"{' / '.join(f'{m:.2f}' for m in mine)} | {ratio:.2f}× |"
        )
    return [*lines, ""]


def compile_bytecode() -> None:
    """Compile kneeflags' modules to bytecode first, as a ``pip install`` leaves them.

    Why: an editable install writes no bytecode until a module is first imported, and not
    even then under ``PYTHONDONTWRITEBYTECODE=1`` (set in some shells and CI images): every
    ``kneeflags`` start, and every worker process, then compiled all of kneeflags' modules
    from source (~35 ms a process here), a cost no installed user pays. ``compileall``
    writes the bytecode whatever that variable says; a stale file is never used (Python
    checks each source's size and time).
    """
    import compileall

    import kneeflags

    compileall.compile_dir(str(Path(kneeflags.__file__).parent), quiet=1)


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
    parser.add_argument("--runner-gpx", type=int, default=56, help="Garmin GPX files (e)")
    parser.add_argument("--strava", type=int, default=12, help="files per format (f)")
    parser.add_argument("--skip-fit", action="store_true", help="only (e)-(g)")
    parser.add_argument(
        "--versus",
        metavar="DIR",
        help="only: this tree's analyze cold and warm against the kneeflags tree in DIR",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    compile_bytecode()
    if args.versus:
        generate_corpus(args.corpus / f"n{args.files}", args.files, args.gpx)
        text = "\n".join(["# kneeflags before/after", "", *versus_section(args, env)])
        print(text)
        args.results.write_text(text, encoding="utf-8")
        return 0

    load_start = os.getloadavg()[0]
    print(f"per-format sets in {args.corpus} ...", flush=True)
    format_lines = format_section(args, env)

    def shared_line() -> str:
        """The machine's load, measured: the ratios' two sides share whatever it was."""
        return (
            f"1-minute load average at the start of the run {load_start:.1f}, at its end "
            f"{os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores; another job's load "
            "shows here): absolute seconds drift between repetitions; the ratios, whose "
            "two sides run back to back, are what carry."
        )

    if args.skip_fit:
        text = (
            "\n".join(["# kneeflags per-format benchmark", "", *format_lines, shared_line()]) + "\n"
        )
        print(text)
        args.results.write_text(text, encoding="utf-8")
        return 0

    print(f"generating {args.files} FIT + {args.gpx} GPX runs in {args.corpus} ...", flush=True)
    paths = generate_corpus(args.corpus / f"n{args.files}", args.files, args.gpx)
    fit_paths = [p for p in paths if p.suffix == ".fit"]
    records = args.files * 3600
    target = str(args.corpus / f"n{args.files}")

    cache_dir = Path(tempfile.mkdtemp(prefix="kneeflags-bench-cache-"))
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
    warm_each = ", ".join(f"{a / c:.0f}×" for a, c in zip(base_t, warm_t, strict=True))
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
        f"{cold_each}; warm: {warm_each}; the spread is the machine's noise (a shared VM's "
        "speed drifts).",
        "",
        memory_line,
        "",
        *([export_line, ""] if export_line else []),
        *format_lines,
        shared_line(),
        "",
        "Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}.",
        "",
        "kneeflags' modules are compiled to bytecode before the runs (`compileall`), as a "
        "pip install leaves them; results before kf-15c (2026-12-06) compiled them at every "
        "start (the shell had PYTHONDONTWRITEBYTECODE=1), ~35 ms per process.",
        "",
        "Targets (issue 5): cold ≥ 50× and warm ≥ 100× the baseline; < 500 MB for 3,000 files.",
        "Targets (issue 15): FIT cold ≥ 100× and warm ≥ 300×; GPX in process ≥ 20× gpxpy and "
        "end to end ≥ 8×; TCX ≥ 20× an ElementTree loop; ≤ ~3× a file's size in memory.",
        "Ratios, not seconds, are what carry across machines: (a) is measured in the same run.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.results.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
