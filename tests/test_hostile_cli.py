"""The command line under hostile conditions (issue 6): any file type, exit codes, crashes
and kills mid-write, two cron runs at once, a broken cache, and determinism.

Data safety is tested on the real console script where it matters: ``kill -9`` lands
*inside* a write because a ``sitecustomize`` hook (on ``PYTHONPATH`` of the child only)
announces each ``fsync`` and then sleeps, so the parent kills exactly between "temp file
written" and "renamed into place".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hostile import (
    EXIT_FAIL_ON,
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    KNEEFLAGS_BIN,
    START,
    CliRun,
    Sandbox,
    alarm_fixture,
    analyze_json,
    chdir,
    fit_run,
    run_cli,
    run_subprocess,
    same_ish,
    subprocess_env,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kneeflags.pipeline as pipeline
import kneeflags.worker as worker

_hang_guard = alarm_fixture(120)

WEEK = "{}-W{:02d}".format(*START.isocalendar()[:2])
GOOD = ("in/good-a.fit", "in/good-b.fit")


def _box(root: Path) -> Sandbox:
    box = Sandbox(root)
    box.put("good-a.fit", fit_run(0, seed=1))
    box.put("good-b.fit", fit_run(2, seed=2))
    return box


def _cron(box: Sandbox, *extra: str, out: str = "out/reports") -> CliRun:
    with chdir(box.root):
        return run_cli(
            ["report", "in", "--out-dir", out, "--week", WEEK, "--cache-dir", "cache", *extra]
        )


def _report_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _complete(files: dict[str, bytes]) -> None:
    """Every report file is whole: JSON parses, HTML and Markdown end as written."""
    for name, data in files.items():
        text = data.decode("utf-8")
        if name.endswith(".json"):
            doc = json.loads(text)
            assert doc["schema_version"] and doc["athletes"], name
        elif name.endswith(".html"):
            assert text.rstrip().endswith("</html>"), f"{name} is cut off"
        elif name.endswith(".md"):
            assert text.endswith("\n") and "kneeflags" in text, f"{name} is cut off"


# --- any file type -------------------------------------------------------------------------


def test_zero_byte_files(tmp_path: Path) -> None:
    box = _box(tmp_path)
    for name in ("e.fit", "e.gpx", "e.tcx", "e.fit.gz", "e.FIT", "notes.txt", "e.zip"):
        box.put(name, b"")
    box.freeze()
    run = analyze_json(box)
    box.verify()
    named = ["in/e.fit", "in/e.gpx", "in/e.tcx", "in/e.fit.gz", "in/e.FIT"]
    run.check(good=GOOD, bad=named, bad_in="errors", codes={EXIT_INPUT})
    assert all("empty" in p["message"] for p in run.problems() if p["path"] in named)
    assert not [p for p in run.problems() if p["path"].endswith(("notes.txt", "e.zip"))]


_PREFIXES = {
    "none": b"",
    "fit-header": b"\x0e\x20\x20\x08\x00\x10\x00\x00.FIT\x00\x00",
    "gpx-root": b'<?xml version="1.0"?><gpx version="1.1" creator="x">',
    "tcx-root": b"\n <TrainingCenterDatabase>",
    "gzip-magic": b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
    "zip-magic": b"PK\x03\x04",
}


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    ext=st.sampled_from([".fit", ".gpx", ".tcx", ".fit.gz", ".gpx.gz"]),
    prefix=st.sampled_from(sorted(_PREFIXES)),
    body=st.binary(min_size=0, max_size=3000),
)
def test_random_bytes_under_an_activity_extension(ext: str, prefix: str, body: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        box = _box(Path(tmp))
        box.put(f"random{ext}", _PREFIXES[prefix] + body)
        box.freeze()
        run = analyze_json(box)
        box.verify()
        run.check(good=GOOD, bad=[f"in/random{ext}"])


# --- exit codes ----------------------------------------------------------------------------


def _flagged_box(root: Path) -> Sandbox:
    """Four steady weeks of three 20-minute runs, then a week of three 60-minute runs."""
    box = Sandbox(root)
    for week in range(5):
        minutes = 60 if week == 4 else 20
        for i, dow in enumerate((0, 2, 4)):
            day = 7 * week + dow
            box.put(f"w{week}-{i}.fit", fit_run(day, 60 * minutes, seed=10 * week + i))
    return box


def test_exit_code_table(tmp_path: Path) -> None:
    """0 ok; 1 unreadable files; 2 usage; 3 fail-on (and 3 wins over 1)."""
    box = _flagged_box(tmp_path)
    last_week = "{}-W{:02d}".format(
        *(START.date().fromordinal(START.toordinal() + 28)).isocalendar()[:2]
    )
    pipe = tmp_path / "config-fifo.toml"
    os.mkfifo(pipe)
    box.freeze()
    base = ["report", "in", "--out-dir", "out", "--week", last_week, "--cache-dir", "cache"]
    with chdir(box.root):
        ok = run_cli(base)
        fail_on = run_cli([*base, "--fail-on", "watch"])
        box.put("broken.fit", b"\x0e\x10garbage")
        both = run_cli([*base, "--fail-on", "high"])
        unreadable = run_cli(base)
        usage = [
            run_cli([*base, "--tz", "../../../../etc/passwd"]),
            run_cli([*base, "--tz", "Not/AZone"]),
            run_cli([*base[:5], "2025-W99", *base[6:]]),
            run_cli([*base, "--weeks", "-3"]),
            run_cli([*base, "--config", str(pipe)]),
            run_cli([*base, "--config", "/dev/zero"]),
            run_cli([*base, "--config", "missing.toml"]),
            run_cli([*base, "--no-such-option"]),
            run_cli(["analyze", "in", "--format", "exe"]),
            run_cli(["no-such-command"]),
        ]
    (box.inputs / "broken.fit").unlink()
    box.verify()
    assert ok.code == EXIT_OK and ok.stdout == "" and ok.stderr == "", "cron: silent on success"
    assert fail_on.code == EXIT_FAIL_ON and "volume-jump" in fail_on.stdout
    assert both.code == EXIT_FAIL_ON and "broken.fit" in both.stderr
    assert unreadable.code == EXIT_INPUT and "broken.fit" in unreadable.stderr
    for run in usage:
        assert run.code == EXIT_USAGE, (run.args, run.code, run.stderr[-300:])
        assert "Traceback" not in run.stdout + run.stderr
    for run in (ok, fail_on, both, unreadable):
        run.no_traceback()


def test_internal_failure_is_one_line_unless_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = _box(tmp_path)
    box.freeze()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated\nfailure in the analysis")

    monkeypatch.setattr(pipeline, "analyze_frames", boom)
    run = analyze_json(box)
    assert run.code == EXIT_INPUT
    run.no_traceback()
    assert run.stderr == "kneeflags: error: simulated failure in the analysis\n"
    debug = analyze_json(box, None, "--debug")
    assert "Traceback (most recent call last)" in debug.stderr  # only with --debug
    box.verify()


def test_one_activity_failing_analysis_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = _box(tmp_path)
    box.put("poison.fit", fit_run(4, seed=4))
    box.freeze()
    real = worker.summarize

    def summarize(activity, config):  # type: ignore[no-untyped-def]
        if str(activity.source).endswith("poison.fit"):
            raise ValueError("simulated metric failure")
        return real(activity, config)

    monkeypatch.setattr(worker, "summarize", summarize)
    run = analyze_json(box, None, "--no-cache")
    box.verify()
    run.check(good=GOOD, bad=["in/poison.fit"], bad_in="errors", codes={EXIT_INPUT})


@pytest.mark.parametrize("how", ["sleeping", "spinning"])
def test_time_cap_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """A file that takes too long (blocked or looping) is an error; the run goes on."""
    box = _box(tmp_path)
    box.put("slow.fit", fit_run(4, seed=4))
    box.freeze()
    real = worker.load_item

    def load_item(item, **kwargs):  # type: ignore[no-untyped-def]
        if item.ref.path.endswith("slow.fit"):
            if how == "sleeping":
                time.sleep(60)
            while True:  # a parser stuck in a loop
                pass
        return real(item, **kwargs)

    monkeypatch.setattr(worker, "load_item", load_item)
    monkeypatch.setattr(worker, "MAX_SECONDS_PER_FILE", 0.5)
    t0 = time.monotonic()
    run = analyze_json(box, None, timeout=20)
    assert time.monotonic() - t0 < 10
    run.check(good=GOOD, bad=["in/slow.fit"], bad_in="errors", codes={EXIT_INPUT})
    assert "time cap" in " ".join(p["message"] for p in run.problems())
    monkeypatch.undo()  # the timeout was not cached: a normal rerun reads the file
    again = analyze_json(box)
    again.check(good=[*GOOD, "in/slow.fit"], codes={EXIT_OK})
    box.verify()


def test_batch_with_hostile_athletes(tmp_path: Path) -> None:
    """A coach's folder: a hostile folder name, a zip bomb 'export', a loose file, a FIFO."""
    from hostile import build_zip, stored, zeros_member

    box = Sandbox(tmp_path)
    box.put("ann/run.fit", fit_run(0, seed=1))
    evil = '<img src=x onerror="alert(1)">'
    box.put(f"{evil}/run.fit", fit_run(2, seed=2))
    box.put("bob/run.fit", fit_run(3, seed=3))
    box.put(
        "bomb.zip",
        build_zip([stored("ok.fit", fit_run(4, seed=4)), zeros_member("b.fit", 500 << 20)]),
    )
    box.put("loose.fit", fit_run(5, seed=5))
    os.mkfifo(box.inputs / "pipe.zip")
    box.freeze()
    with chdir(box.root):
        args = ["batch", "in", "--out-dir", "out", "--format", "json", "--output", "out/all.json"]
        run = run_cli(
            [*args, "--workers", "1", "--cache-dir", "cache", "--until", "2025-03-09"],
            report=box.out / "all.json",
        )
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_INPUT
    assert run.doc is not None
    names = sorted(a["athlete"] for a in run.doc["athletes"])
    assert evil in names and "bomb" in names
    assert any("b.fit" in p["path"] and "zip bomb" in p["message"] for p in run.doc["errors"])
    index = (box.out / "index.html").read_text()
    assert "<img" not in index and "&lt;img src=x" in index
    for folder in box.out.iterdir():  # athlete folders are slugs inside out/
        assert folder.resolve().parent == box.out.resolve()


# --- data safety: atomic writes, crashes, concurrent runs, broken cache --------------------


def test_failed_rename_leaves_the_previous_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = _box(tmp_path)
    first = _cron(box)
    assert first.code == EXIT_OK
    before = _report_files(box.out)
    assert len(before) == 3
    box.put("good-c.fit", fit_run(4, seed=3))  # the rerun would change every report
    box.freeze()

    def replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", replace)
    crashed = _cron(box)
    monkeypatch.undo()
    box.verify()
    crashed.no_traceback()
    assert crashed.code == EXIT_INPUT
    assert "No space left on device" in crashed.stderr
    assert _report_files(box.out) == before  # old reports intact, not half-new
    leftovers = [p.name for p in box.out.rglob("*.tmp")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def test_unwritable_cache_does_not_fail_the_report(tmp_path: Path) -> None:
    box = _box(tmp_path)
    box.put("cache-is-a-file", b"not a folder")
    box.freeze()
    with chdir(box.root):
        run = run_cli(
            [
                "report",
                "in",
                "--out-dir",
                "out",
                "--week",
                WEEK,
                "--cache-dir",
                "in/cache-is-a-file/sub",
            ]
        )
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_OK
    assert "cache not written" in run.stderr
    _complete(_report_files(box.out))


_FSYNC_HOOK = """
import os, sys
_n = [0]
_real = os.fsync
_at = int(os.environ.get("HOSTILE_FSYNC_EXIT_AT", "0"))
def fsync(fd):
    _n[0] += 1
    sys.stderr.write(f"HOSTILE-FSYNC {_n[0]}\\n")
    sys.stderr.flush()
    if _n[0] == _at:
        os._exit(137)  # as abrupt as kill -9: no finally, no atexit, no flush
    return _real(fd)
os.fsync = fsync
"""


def _killed_at(box: Sandbox, hook: Path, n: int) -> None:
    """Run the cron job as a subprocess that dies (``os._exit``) at its ``n``-th fsync."""
    env = subprocess_env(box, PYTHONPATH=str(hook), HOSTILE_FSYNC_EXIT_AT=str(n))
    done = subprocess.run(
        [str(KNEEFLAGS_BIN), *_CRON_ARGS],
        cwd=box.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert f"HOSTILE-FSYNC {n}" in done.stderr, f"the run finished before fsync {n}"
    assert done.returncode == 137, done.stderr[-500:]


_CRON_ARGS = ["report", "in", "--out-dir", "out", "--week", WEEK, "-j", "1", "--cache-dir", "cache"]


def _second_run_box(root: Path) -> tuple[Sandbox, dict[str, bytes]]:
    """Reports of one run in ``out/``; then a new input, so the next run rewrites them all."""
    box = Sandbox(root)
    box.put("good-a.fit", fit_run(0, seed=1))
    with chdir(box.root):
        assert run_cli(_CRON_ARGS).code == EXIT_OK
    previous = _report_files(box.out)
    assert len(previous) == 3
    box.put("good-b.fit", fit_run(2, seed=2))
    box.freeze()
    return box, previous


def test_stuck_cache_lock_does_not_hang_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the parse-cache lock for ever: the report is still written."""
    import fcntl

    import kneeflags.cache as cache

    box = _box(tmp_path)
    assert _cron(box).code == EXIT_OK
    (lock_path,) = box.cache.rglob(".lock")
    box.put("good-c.fit", fit_run(4, seed=3))  # something new to store
    box.freeze()
    monkeypatch.setattr(cache, "CACHE_LOCK_TIMEOUT_S", 0.3)
    with open(lock_path, "a+b") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        t0 = time.monotonic()
        run = _cron(box)
        assert time.monotonic() - t0 < 10
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_OK and "cache not written" in run.stderr
    doc = json.loads((box.out / "reports" / "in" / f"{WEEK}.json").read_text())
    assert len(doc["athletes"][0]["activities"]) == 3


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")
def test_kill_9_in_the_middle_of_a_write_leaves_no_half_report(tmp_path: Path) -> None:
    """Killed at *every* fsync of a run, one run per fsync: nothing half-written, nothing lost.

    A run's fsyncs are the parse cache's tables and manifest, then the reports' (and their
    folders'). Each time every report is the previous run's or the new one, whole, the
    cache still reads, and the next run gives exactly the uninterrupted run's reports
    (issue 10: a kill between ``files`` and ``summaries`` lost the new run for ever).
    """
    if not KNEEFLAGS_BIN.exists():
        pytest.skip(f"{KNEEFLAGS_BIN} is absent")
    import polars as pl

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent(_FSYNC_HOOK))
    probe, _ = _second_run_box(tmp_path / "probe")
    counted = subprocess.run(
        [str(KNEEFLAGS_BIN), *_CRON_ARGS],
        cwd=probe.root,
        env=subprocess_env(probe, PYTHONPATH=str(hook)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    total = counted.stderr.count("HOSTILE-FSYNC")
    assert counted.returncode == EXIT_OK and total >= 6, counted.stderr[-500:]
    new = _report_files(probe.out)
    mid_write = 0
    for n in range(1, total + 1):
        box, previous = _second_run_box(tmp_path / f"kill-{n}")
        _killed_at(box, hook, n)
        # a temp file left behind proves the kill landed between write and rename
        mid_write += bool([*box.out.rglob("*.tmp"), *box.cache.rglob("*.tmp")])
        now = _report_files(box.out)
        assert sorted(now) == sorted(previous)
        for name, data in now.items():
            assert data in (previous[name], new[name]), f"{name}: neither old nor new"
        _complete(now)
        for table in box.cache.rglob("*.parquet"):
            pl.read_parquet(table)
        box.verify()
        with chdir(box.root):
            assert run_cli(_CRON_ARGS).code == EXIT_OK
        assert _report_files(box.out) == new
    assert mid_write >= 2


def _start(box: Sandbox, inputs: str, out: str) -> subprocess.Popen[str]:
    args = ["report", inputs, "--out-dir", out, "--week", WEEK, "--athlete", "same"]
    return subprocess.Popen(
        [str(KNEEFLAGS_BIN), *args, "--cache-dir", "cache", "-j", "1"],
        cwd=box.root,
        env=subprocess_env(box),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_cron_runs_writing_the_same_folder_at_once(tmp_path: Path) -> None:
    """Same folder, same athlete, different data, started together, three times over.

    Both runs succeed; the three files always come from one run (the folder lock keeps a
    run's trio together), each is whole, and the shared parse cache still reads.
    """
    if not KNEEFLAGS_BIN.exists():
        pytest.skip(f"{KNEEFLAGS_BIN} is absent")
    import polars as pl

    box = Sandbox(tmp_path)
    box.put("two/a.fit", fit_run(0, seed=1))
    box.put("two/b.fit", fit_run(2, seed=2))
    box.put("three/a.fit", fit_run(0, seed=1))
    box.put("three/b.fit", fit_run(2, seed=2))
    box.put("three/c.fit", fit_run(4, seed=3))
    box.freeze()
    for _round in range(3):
        procs = [_start(box, "in/two", "out"), _start(box, "in/three", "out")]
        for p in procs:
            out, err = p.communicate(timeout=90)
            assert p.returncode == EXIT_OK, err
            assert "Traceback" not in out + err
        files = _report_files(box.out)
        assert sorted(files) == [f"same/{WEEK}.{e}" for e in ("html", "json", "md")]
        _complete(files)
        doc = json.loads(files[f"same/{WEEK}.json"])
        n = len(doc["athletes"][0]["activities"])
        assert n in (2, 3)
        html = files[f"same/{WEEK}.html"].decode()
        md = files[f"same/{WEEK}.md"].decode()
        folder, other = ("three", "two") if n == 3 else ("two", "three")
        sources = {a["source"].split("/")[1] for a in doc["athletes"][0]["activities"]}
        assert sources == {folder}
        assert f"{n} in the window" in html and f"in/{folder}/" in html
        assert f"in/{other}/" not in html + md
    for table in box.cache.rglob("*.parquet"):
        pl.read_parquet(table)
    box.verify()


# --- determinism ---------------------------------------------------------------------------


def test_same_inputs_give_byte_identical_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cold or warm cache, no cache, paths in another order, one or two worker processes."""
    box = _box(tmp_path)
    box.put("broken.gpx", b"<gpx")
    box.put("sub/empty.tcx", b"")
    box.freeze()
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    me = ("--athlete", "me")
    outputs = []
    shuffled = ["in/sub", "in/broken.gpx", "in/good-b.fit", "in/good-a.fit"]
    for paths, extra in ((None, ()), (None, ()), (None, ("--no-cache",)), (shuffled, ())):
        run = analyze_json(box, paths, *me, *extra)
        run.check(good=GOOD, bad=["in/broken.gpx", "in/sub/empty.tcx"], codes={EXIT_INPUT})
        outputs.append((box.out / "report.json").read_bytes())
    for other in outputs[1:]:
        assert same_ish(outputs[0], other)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    pinned = [analyze_json(box, None, *me) for _ in range(2)]
    assert pinned[0].doc == pinned[1].doc
    assert pinned[0].doc is not None and pinned[0].doc["generated_at"] == "2026-01-01T00:00:00Z"
    args = ["analyze", "in", "--format", "json", "--output", "out/par.json", "--workers", "2"]
    parallel = run_subprocess(
        box,
        [*args, *me, "--cache-dir", "cache"],
        env=subprocess_env(box, SOURCE_DATE_EPOCH="1767225600"),
    )
    assert parallel.code == EXIT_INPUT
    assert (box.out / "par.json").read_bytes() == (box.out / "report.json").read_bytes()
    box.verify()


def test_cron_reruns_are_byte_identical_and_untouched(tmp_path: Path) -> None:
    box = _box(tmp_path)
    box.put("broken.fit", b"\x0e\x10junk")
    box.freeze()
    first = _cron(box)
    files = _report_files(box.out)
    mtimes = {p: p.stat().st_mtime_ns for p in box.out.rglob("*.*") if p.is_file()}
    time.sleep(0.05)
    second = _cron(box)
    box.verify()
    assert first.code == second.code == EXIT_INPUT
    assert _report_files(box.out) == files
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # not even rewritten


_BAD_VALUES = {
    "until-9999": (["--until", "9999-12-31"], None, "outside the years"),
    "until-0001": (["--until", "0001-01-01"], None, "outside the years"),
    "window-days-negative": ([], "[rules.session-spike]\nwindow_days = -5", "window_days"),
    "baseline-weeks-0": ([], "[rules.volume-jump]\nbaseline_weeks = 0", "baseline_weeks"),
    "acute-days-0": ([], "[rules.acwr]\nacute_days = 0", "acute_days"),
    "huge-integer": ([], "[rules.acwr]\nchronic_days = 99999999999999999999", "chronic_days"),
    "resample-0": ([], "[metrics]\nresample_m = 0", "resample_m"),
    "resample-nan": ([], "[metrics]\nresample_m = nan", "resample_m"),
    "threshold-nan": ([], "[rules.volume-jump]\nhigh_pct = nan", "high_pct"),
    "threshold-inf": ([], "[rules.volume-jump]\nwatch_pct = inf", "watch_pct"),
    "threshold-negative": ([], "[rules.downhill-share]\nwatch_pct = -1", "watch_pct"),
    "watch-over-high": ([], "[rules.volume-jump]\nwatch_pct = 50", "watch_pct"),
    "deep-toml": ([], "x = " + "[" * 20_000 + "]" * 20_000, "nested too deeply"),
}


@pytest.mark.parametrize("case", sorted(_BAD_VALUES))
def test_bad_values_exit_2_with_a_message_naming_them(tmp_path: Path, case: str) -> None:
    """Each used to exit 1 with polars' or Python's words ("date value out of range",
    "`window_size` must be strictly positive", "maximum recursion depth exceeded"), or, for
    nan/inf/negative thresholds, to switch a rule off without a word."""
    args, toml, needle = _BAD_VALUES[case]
    box = _flagged_box(tmp_path)
    if toml is not None:
        (tmp_path / "bad.toml").write_text(toml + "\n")
        args = [*args, "--config", str(tmp_path / "bad.toml")]
    box.freeze()
    with chdir(box.root):
        run = run_cli(["analyze", "in", "--cache-dir", "cache", "--format", "json", *args])
        week = run_cli(["report", "in", "--out-dir", "out", "--week", "9999-W52"])
    box.verify()
    for r in (run, week):
        assert r.code == EXIT_USAGE, (r.args, r.code, r.stderr[-500:])
        assert "Traceback" not in r.stdout + r.stderr and r.stdout == ""
    assert needle in " ".join(run.stderr.split()), run.stderr
    assert "outside the years" in " ".join(week.stderr.split())
    assert not (box.out).exists() or not list(box.out.rglob("*.md"))
