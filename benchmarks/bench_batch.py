"""Benchmark: ``kneeflags batch`` on the local process pool vs a Dask ``LocalCluster``.

Generates a team (``kneeflags.testing.team``: N athletes x F short FIT runs each), then
runs, interleaved, for every repetition:

(a) ``batch`` on the default process pool (``--workers W``), cold (empty cache) and warm
    (the same cache again);
(b) ``batch --scheduler local:W`` (a ``LocalCluster`` of W one-thread workers started by
    the command), cold and warm.

Each run is the whole command as a user runs it (process start, cluster start-up, the
ranked summary; no ``--out-dir``: rendering HTML charts is the same work whichever
executor runs it and would dominate the wall clock). Every repetition is listed with the
ratio of (b) to (a) *in that repetition*, and the Dask path's overhead per athlete,
``(b - a) / N``. Wall-clock numbers are never asserted anywhere; they feed the ratios.

Usage: ``python benchmarks/bench_batch.py [--athletes 1000] [--files 20] [--reps 2]``
(``make bench-batch`` runs the defaults; ``BENCH_BATCH_ARGS`` overrides them).

``--skewed BIG,SMALL,FILES`` (``make bench-batch-skewed``: ``2000,9,50``) measures
issue 15's case instead: one athlete with BIG runs and SMALL athletes with FILES runs,
cold, on the default pool, (c) with one pool of files across athletes (today) against
(d) the previous per-athlete scheduling, where each athlete is parsed whole in one task
(the same build, ``kneeflags.batchpool.SPLIT_MIN_FILES`` set out of reach in the
command's process by ``batch_launch.py``, which also reports CPU per process). Both in
every repetition, alternating which goes first; the section "One large athlete" of the
results file is replaced, the rest kept.

``--rerun PYTHON`` measures issue 13's rerun instead: a team already reported once with
``--out-dir`` (reports, parts, cache in place), then ``batch --out-dir`` again with
nothing changed, by (g) this build (unchanged athletes are hashed and rebuilt from their
part files, nothing parsed or analysed) and (h) the build ``PYTHON`` runs (e.g. a venv
whose ``kneeflags`` is the commit before: each athlete analysed again from the parse
cache, only its rendering skipped). Each build has its own out-dir and cache, set up by
its own first run (listed); then both in every repetition, alternating which goes
first. The section "Unchanged athletes on a rerun" of the results file is replaced.
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
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generate(root: Path, athletes: int, files: int) -> Path:
    """The team under ``root`` (reused when a previous run completed it)."""
    from kneeflags.testing.team import write_team

    team = root / f"team-{athletes}x{files}"
    marker = team / ".complete"
    if not marker.exists():
        t0 = time.perf_counter()
        write_team(team, athletes, files)
        marker.write_text("ok\n", encoding="utf-8")
        print(f"generated {athletes * files} files in {time.perf_counter() - t0:.0f} s", flush=True)
    return team


def run(args: list[str], python: str | None = None) -> float:
    """Seconds for one ``kneeflags`` command (exit 0 or 1 only); ``python``: another build."""
    exe = Path(sys.executable).with_name("kneeflags")
    cwd = None
    if python is not None:
        command = [python, "-m", "kneeflags", *args]
        cwd = tempfile.gettempdir()  # not the checkout: `-m` would import its kneeflags
    elif exe.exists():
        command = [str(exe), *args]
    else:
        command = [sys.executable, "-m", "kneeflags", *args]
    start = time.perf_counter()
    done = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, cwd=cwd
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"kneeflags failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed


SKEWED_HEADING = "## One large athlete: one pool of files vs one task per athlete"


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def cores_free(n: int = 4_000_000) -> float:
    """How many cores two busy processes get right now: 2 x (one alone) / (two at once).

    2.0 on an idle two-core machine; about 1 or less when other jobs keep the cores busy,
    and then no scheduling can make a batch faster (each repetition lists it).
    """
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [10, 10])  # started
        start = time.perf_counter()
        pool.map(_burn, [n])
        one = time.perf_counter() - start
        start = time.perf_counter()
        pool.map(_burn, [n, n], chunksize=1)
        two = time.perf_counter() - start
    return 2 * one / two


Run = tuple[float, float, float, float]
"""wall s, CPU s of the command and its workers, CPU s of its busiest process, load."""


def run_split(split: str, args: list[str]) -> Run:
    """One ``kneeflags`` command through ``batch_launch.py`` (``split``: its SPLIT).

    The CPU seconds say whether the work itself changed; the busiest process's CPU
    seconds, how it was shared out (the per-athlete path leaves the large athlete's files
    to one process); the load, how busy the shared machine was.
    """
    import json

    command = [sys.executable, str(HERE / "batch_launch.py"), split, *args]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"kneeflags failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    line = [x for x in done.stderr.decode().splitlines() if x.startswith("KNEEFLAGS-BENCH-CPU ")]
    cpu = json.loads(line[-1].split(" ", 1)[1])
    per_process = [cpu["self"], *cpu["children"]]
    return elapsed, sum(per_process), max(per_process), load


def generate_skewed(root: Path, big: int, small: int, files: int) -> Path:
    """``athlete-0000`` with ``big`` runs, then ``small`` athletes of ``files`` runs."""
    from kneeflags.testing.team import write_athlete

    team = root / f"skewed-{big}+{small}x{files}"
    marker = team / ".complete"
    if not marker.exists():
        t0 = time.perf_counter()
        write_athlete(team / "athlete-0000", 0, big)
        for i in range(1, small + 1):
            write_athlete(team / f"athlete-{i:04d}", i, files)
        marker.write_text("ok\n", encoding="utf-8")
        total = big + small * files
        print(f"generated {total} files in {time.perf_counter() - t0:.0f} s", flush=True)
    return team


def skewed(args: argparse.Namespace) -> int:
    """Issue 15's batch case: see the module docstring (``--skewed``)."""
    big, small, files = (int(x) for x in args.skewed.split(","))
    team = generate_skewed(args.corpus, big, small, files)
    w = str(args.workers)
    common = ["batch", str(team), "--until", "2026-11-22", "-f", "csv", "-o", os.devnull, "-q"]
    modes = {"shared": "-", "per-athlete": str(10**9)}
    reps: list[dict[str, Run]] = []
    free: list[float] = []
    for rep in range(args.reps):
        order = list(modes) if rep % 2 == 0 else list(reversed(modes))
        times: dict[str, Run] = {}
        free.append(cores_free())
        print(f"  rep {rep + 1}: {free[-1]:.2f} cores free", flush=True)
        for mode in order:
            cache = Path(tempfile.mkdtemp(prefix="kneeflags-bench-skewed-"))
            try:
                extra = ["--workers", w, "--cache-dir", str(cache)]
                times[mode] = run_split(modes[mode], [*common, *extra])
            finally:
                shutil.rmtree(cache, ignore_errors=True)
            wall, cpu, busiest, load = times[mode]
            print(
                f"  rep {rep + 1} {mode}: {wall:.2f} s ({cpu:.1f} CPU s, busiest process "
                f"{busiest:.1f} s, load {load:.1f})",
                flush=True,
            )
        reps.append(times)

    total = big + small * files
    lines = [
        SKEWED_HEADING,
        "",
        f"Generated by `make bench-batch-skewed` on {dt.date.today().isoformat()}: one athlete "
        f"with {big:,} FIT runs and {small} with {files} ({total:,} files, 10-25 min at 1 Hz "
        f"each), `--workers {w}`, cold (empty cache each run), {args.reps} repetitions, "
        "alternating which path runs first. Whole commands (start-up included), summary only. "
        "*Shared*: today's scheduling (the large athlete's files parsed in one pool of files "
        "across all processes); *per athlete*: the same build with each athlete parsed whole "
        "in one task, as before issue 15.",
        *(["", args.note] if args.note else []),
        "",
        "Wall seconds; the CPU seconds of the command and its worker processes; the CPU",
        "seconds of its busiest process (how the work was shared out, whatever else ran); the",
        "machine's 1-minute load average just before each command (other jobs share it); and",
        "the cores two busy processes got just before the repetition (2 x one alone / two at",
        "once: 2.0 on an idle two-core machine; near 1 no scheduling can gain anything).",
        "",
        "| rep | cores free | first | per athlete s | shared s | per athlete / shared "
        "| CPU s (per athlete / shared) | busiest process CPU s (per athlete / shared) "
        "| load before (per athlete / shared) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (times, cores) in enumerate(zip(reps, free, strict=True), 1):
        first = "shared" if (i - 1) % 2 == 0 else "per athlete"
        old, old_cpu, old_top, old_load = times["per-athlete"]
        new, new_cpu, new_top, new_load = times["shared"]
        lines.append(
            f"| {i} | {cores:.2f} | {first} | {old:.2f} | {new:.2f} | {old / new:.2f}x "
            f"| {old_cpu:.1f} / {new_cpu:.1f} | {old_top:.1f} / {new_top:.1f} "
            f"| {old_load:.1f} / {new_load:.1f} |"
        )
    old = statistics.median(t["per-athlete"][0] for t in reps)
    new = statistics.median(t["shared"][0] for t in reps)
    lines += [
        "",
        f"Median: per athlete {old:.2f} s, shared {new:.2f} s ({old / new:.2f}x).",
        "",
        "Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs), Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    previous = args.results.read_text(encoding="utf-8") if args.results.exists() else ""
    kept, _, after = previous.partition(SKEWED_HEADING)
    kept = kept.rstrip("\n")
    if RERUN_HEADING in after:  # --rerun's section, after this one, is kept
        section = section.rstrip("\n") + "\n\n" + RERUN_HEADING + after.split(RERUN_HEADING, 1)[1]
    args.results.write_text((kept + "\n\n" if kept else "") + section, encoding="utf-8")
    return 0


RERUN_HEADING = "## Unchanged athletes on a rerun: the true skip"

PROBE = """
import json, sys, time
from datetime import date
from kneeflags.executors import InlineExecutor
from kneeflags.journeys import run_batch
team, out, cache = sys.argv[1:4]
start = time.perf_counter()
r = run_batch([team], out_dir=out, cache_dir=cache, until=date(2026, 11, 22),
              executor=InlineExecutor(), journal=None)
seconds = time.perf_counter() - start
import kneeflags
print(json.dumps({"seconds": seconds, "unchanged": r.unchanged,
                  "analysed": getattr(r, "analysed", None), "module": kneeflags.__file__}))
"""
"""One in-process rerun, one process (no pool, no start-up): the cost of the athletes."""


def probe(python: str, team: Path, out: Path, cache: Path) -> dict[str, float]:
    import json

    done = subprocess.run(
        [python, "-c", PROBE, str(team), str(out), str(cache)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tempfile.gettempdir(),  # `-c` imports from the current folder first
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"probe failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rerun(args: argparse.Namespace) -> int:
    """(g) this build vs (h) ``args.rerun``'s build, rerunning ``--out-dir`` unchanged."""
    team = generate(args.corpus, args.athletes, args.files).resolve()  # run from elsewhere
    n = args.athletes
    builds = {"after": None, "before": args.rerun}
    common = ["batch", str(team), "--until", "2026-11-22", "-f", "csv", "-o", os.devnull, "-q"]
    common += ["--workers", str(args.workers)]
    root = Path(tempfile.mkdtemp(prefix="kneeflags-bench-rerun-"))
    setup: dict[str, float] = {}
    reps: list[dict[str, float]] = []
    modules: dict[str, str] = {}
    try:
        dirs = {b: ["--out-dir", str(root / f"out-{b}"), "--cache-dir", str(root / f"cache-{b}")]
                for b in builds}  # fmt: skip
        for build, python in builds.items():
            setup[build] = run([*common, *dirs[build]], python)
            print(f"  first run ({build}, reports drawn): {setup[build]:.1f} s", flush=True)
        for rep in range(args.reps):
            order = list(builds) if rep % 2 == 0 else list(reversed(builds))
            times: dict[str, float] = {"first": order[0] == "after"}  # type: ignore[dict-item]
            for build in order:
                times[build] = run([*common, *dirs[build]], builds[build])
                got = probe(builds[build] or sys.executable, team, root / f"out-{build}",
                            root / f"cache-{build}")  # fmt: skip
                if got["unchanged"] != n:
                    raise SystemExit(f"{build}: only {got['unchanged']} of {n} unchanged")
                times[f"{build}-probe"] = got["seconds"]
                modules[build] = got["module"]
                print(f"  rep {rep + 1} {build}: {times[build]:.2f} s, in process "
                      f"{got['seconds']:.2f} s", flush=True)  # fmt: skip
            reps.append(times)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if modules["before"] == modules["after"]:
        raise SystemExit(f"both builds imported {modules['after']}: nothing compared")
    print(f"builds: before {modules['before']}, after {modules['after']}", flush=True)

    lines = [
        RERUN_HEADING,
        "",
        f"Generated by `bench_batch.py --rerun` on {dt.date.today().isoformat()}: {n} athletes "
        f"x {args.files} FIT runs ({n * args.files:,} files), `--workers {args.workers}`, "
        "`--out-dir` rerun with nothing changed (reports, parts and parse cache of a first "
        f"run in place), {args.reps} repetitions alternating which build goes first. Whole "
        "commands, start-up included. *After*: this build (each unchanged athlete hashed, "
        "found unchanged by its task, rebuilt from its part file: nothing parsed or "
        "analysed). *Before*: the build before it (each athlete analysed again from the "
        "parse cache; only rendering and writing skipped).",
        *(["", args.note] if args.note else []),
        "",
        f"First runs (set-up, reports drawn): before {setup['before']:.1f} s, "
        f"after {setup['after']:.1f} s.",
        "",
        "*Command*: `kneeflags batch --out-dir ... --workers "
        f"{args.workers}` as a user runs it (Python start-up and the pool's processes "
        "included, which a few hundred athletes do not amortise). *In process*: the same "
        "rerun through `run_batch` in one process with the inline executor, after the "
        "imports: the cost of the athletes themselves, per athlete.",
        "",
        "| rep | first | command before s | command after s | before / after | "
        "in process before s | in process after s | before / after | per athlete before | "
        "per athlete after |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, t in enumerate(reps, 1):
        pb, pa = t["before-probe"], t["after-probe"]
        lines.append(
            f"| {i} | {'after' if t['first'] else 'before'} | {t['before']:.2f} | "
            f"{t['after']:.2f} | {t['before'] / t['after']:.2f}x | {pb:.2f} | {pa:.2f} | "
            f"{pb / pa:.2f}x | {pb / n * 1000:.1f} ms | {pa / n * 1000:.1f} ms |"
        )
    before = statistics.median(t["before"] for t in reps)
    after = statistics.median(t["after"] for t in reps)
    pbefore = statistics.median(t["before-probe"] for t in reps)
    pafter = statistics.median(t["after-probe"] for t in reps)
    lines += [
        "",
        f"Median command: before {before:.2f} s, after {after:.2f} s ({before / after:.2f}x).",
        f"Median in process: before {pbefore:.2f} s = {pbefore / n * 1000:.1f} ms per "
        f"unchanged athlete, after {pafter:.2f} s = {pafter / n * 1000:.1f} ms "
        f"({pbefore / pafter:.2f}x).",
        "",
        "Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs), Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    previous = args.results.read_text(encoding="utf-8") if args.results.exists() else ""
    if RERUN_HEADING in previous:
        head, rest = previous.split(RERUN_HEADING, 1)
        tail = rest.split("\n## ", 1)
        previous = head + ("## " + tail[1] if len(tail) > 1 else "")
    args.results.write_text(previous.rstrip("\n") + "\n\n" + text, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--athletes", type=int, default=1000)
    parser.add_argument("--files", type=int, default=20, help="FIT runs per athlete")
    parser.add_argument("--workers", type=int, default=2, help="pool processes = Dask workers")
    parser.add_argument("--reps", type=int, default=2, help="repetitions (all listed)")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus", help="generated files")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS-batch.md")
    parser.add_argument("--note", default="", help="a line added to the results (e.g. why)")
    parser.add_argument(
        "--skewed",
        metavar="BIG,SMALL,FILES",
        help="issue 15's case instead: one athlete of BIG runs, SMALL of FILES (2000,9,50)",
    )
    parser.add_argument(
        "--rerun",
        metavar="PYTHON",
        help="issue 13's rerun instead: this build vs PYTHON's, --out-dir with nothing changed",
    )
    args = parser.parse_args(argv)
    if args.skewed:
        return skewed(args)
    if args.rerun:
        return rerun(args)

    team = generate(args.corpus, args.athletes, args.files)
    w = str(args.workers)
    modes = {"pool": ["--workers", w], "dask": ["--scheduler", f"local:{w}"]}
    common = ["batch", str(team), "--until", "2026-11-22", "-f", "csv", "-o", os.devnull, "-q"]
    reps: list[dict[str, float]] = []
    for rep in range(args.reps):
        times: dict[str, float] = {}
        for mode, extra in modes.items():
            cache = Path(tempfile.mkdtemp(prefix="kneeflags-bench-batch-"))
            try:
                for phase in ("cold", "warm"):
                    times[f"{mode}-{phase}"] = run([*common, *extra, "--cache-dir", str(cache)])
                    print(f"  {mode} {phase}: {times[f'{mode}-{phase}']:.1f} s", flush=True)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        reps.append(times)
        print(f"rep {rep + 1}: " + "  ".join(f"{k} {v:.1f}s" for k, v in times.items()), flush=True)

    n = args.athletes
    lines = [
        "# `kneeflags batch`: local process pool vs Dask LocalCluster",
        "",
        f"Generated by `make bench-batch` on {dt.date.today().isoformat()}: {n} athletes x "
        f"{args.files} FIT runs (10-25 min at 1 Hz each, {n * args.files:,} files), "
        f"{args.workers} pool processes vs `--scheduler local:{args.workers}` "
        f"({args.workers} one-thread Dask workers), {args.reps} interleaved repetitions. "
        "Whole commands, cluster start-up included; summary only (no `--out-dir`).",
        *(["", args.note] if args.note else []),
        "",
        "| rep | phase | pool s | Dask s | Dask / pool | Dask overhead per athlete |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for i, times in enumerate(reps, 1):
        for phase in ("cold", "warm"):
            pool, dask = times[f"pool-{phase}"], times[f"dask-{phase}"]
            lines.append(
                f"| {i} | {phase} | {pool:.1f} | {dask:.1f} | {dask / pool:.2f} | "
                f"{(dask - pool) / n * 1000:+.1f} ms |"
            )
    for phase in ("cold", "warm"):
        pool = statistics.median(t[f"pool-{phase}"] for t in reps)
        lines.append("")
        lines.append(
            f"Median {phase}: pool {pool:.1f} s = {pool / n * 1000:.0f} ms per athlete "
            f"({n / pool * 3600:,.0f} athletes an hour on this machine)."
        )
    lines += [
        "",
        "Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs), Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}.",
        "Ratios, not seconds, carry across machines: both paths ran in the same repetition.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    previous = args.results.read_text(encoding="utf-8") if args.results.exists() else ""
    if SKEWED_HEADING in previous:  # --skewed's section is kept
        text += "\n" + SKEWED_HEADING + previous.split(SKEWED_HEADING, 1)[1]
    args.results.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
