"""Where kneeflags writes (issue 10): devices and pipes are written in place, never
replaced; bad output options are usage errors before anything is read; no lock file is
left in (or followed out of) the report tree; a full disk never mixes two runs' reports.

Every test runs in a :class:`~hostile.Sandbox` whose tree is hashed before and after.
Device nodes are look-alikes made with ``os.mknod`` inside the sandbox (root only, as in
CI): the machine's own ``/dev/null`` is never the target of a test.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from hostile import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    START,
    Sandbox,
    alarm_fixture,
    chdir,
    fit_run,
    is_root,
    run_cli,
    run_subprocess,
)

_hang_guard = alarm_fixture(120)

WEEK = "{}-W{:02d}".format(*START.isocalendar()[:2])
WEEK_SUNDAY = (START.date() + timedelta(days=6)).isoformat()


def _box(root: Path) -> Sandbox:
    box = Sandbox(root)
    box.put("good-a.fit", fit_run(0, seed=1))
    box.put("good-b.fit", fit_run(2, seed=2))
    box.out.mkdir()
    return box


def _analyze(box: Sandbox, *extra: str) -> object:
    with chdir(box.root):
        return run_cli(["analyze", "in", "-f", "json", "--cache-dir", "cache", "-j", "1", *extra])


# --- devices, FIFOs, the process's own streams ----------------------------------------------


@pytest.mark.skipif(not is_root(), reason="mknod of a character device needs root (CI is root)")
def test_output_to_a_device_writes_to_it_and_never_replaces_it(tmp_path: Path) -> None:
    """``-o /dev/null`` (the cron idiom) run as root used to rename a file over the device."""
    box = _box(tmp_path)
    node = box.out / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a look-alike of /dev/null
    rdev = node.stat().st_rdev
    box.freeze()
    run = _analyze(box, "-o", "out/null")
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_OK, run.stderr
    st = node.lstat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == rdev, "the device node was replaced"
    assert [p.name for p in box.out.iterdir()] == ["null"], "a temp file was left beside it"


def test_output_to_a_fifo_is_streamed_to_its_reader(tmp_path: Path) -> None:
    box = _box(tmp_path)
    fifo = box.out / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    box.freeze()
    run = _analyze(box, "-o", "out/pipe")
    reader.join(timeout=30)
    box.verify()
    assert run.code == EXIT_OK, run.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode), "the FIFO was replaced by a file"
    doc = json.loads(got[0])
    assert len(doc["athletes"][0]["activities"]) == 2


def test_output_to_a_fifo_without_reader_is_a_named_error_not_a_hang(tmp_path: Path) -> None:
    box = _box(tmp_path)
    fifo = box.out / "pipe"
    os.mkfifo(fifo)
    box.freeze()
    run = _analyze(box, "-o", "out/pipe")
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_INPUT
    assert "out/pipe" in run.stderr and "no reader" in run.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_output_to_dev_stdout_goes_to_the_stream(tmp_path: Path) -> None:
    box = _box(tmp_path)
    box.freeze()
    run = _analyze(box, "-o", "/dev/stdout")
    box.verify()
    assert run.code == EXIT_OK, run.stderr
    assert len(json.loads(run.stdout)["athletes"][0]["activities"]) == 2


def test_output_to_proc_self_fd_is_written_in_place(tmp_path: Path) -> None:
    """``/proc/self/fd/1`` of a process whose stdout is a pipe: written, not renamed over."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc on this system")
    box = _box(tmp_path)
    box.freeze()
    run = run_subprocess(
        box,
        ["analyze", "in", "-f", "json", "--cache-dir", "cache", "-o", "/proc/self/fd/1", "-q"],
    )
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_OK, run.stderr
    assert len(json.loads(run.stdout)["athletes"][0]["activities"]) == 2


# --- output options that are usage errors ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "in", "-o", ""],
        ["analyze", "in", "-o", "out"],  # an existing folder: used to name the temp file
        ["batch", "in", "-o", "out"],
        ["analyze", "in", "--cache-dir", ""],  # used to cache into the working folder
        ["report", "in", "--out-dir", ""],
        ["report", "in", "--out-dir", "in/good-a.fit"],
    ],
    ids=["o-empty", "o-dir", "batch-o-dir", "cache-dir-empty", "out-dir-empty", "out-dir-file"],
)
def test_bad_output_options_exit_2_before_anything_is_written(
    tmp_path: Path, args: list[str]
) -> None:
    box = _box(tmp_path)
    box.freeze()
    with chdir(box.root):
        run = run_cli(args)
    box.verify()
    assert run.code == EXIT_USAGE, (run.code, run.stderr)
    assert "Traceback" not in run.stderr
    assert list(box.out.iterdir()) == [] and not box.cache.exists()
    assert ".tmp" not in run.stderr


# --- lock files -----------------------------------------------------------------------------


def _cron(box: Sandbox, out: str = "out") -> object:
    with chdir(box.root):
        return run_cli(
            ["report", "in", "--out-dir", out, "--week", WEEK, "--cache-dir", "cache", "-j", "1"]
        )


def test_no_lock_file_is_left_in_the_report_tree(tmp_path: Path) -> None:
    box = _box(tmp_path)
    box.freeze()
    assert _cron(box).code == EXIT_OK
    box.verify()
    left = sorted(str(p.relative_to(box.out)) for p in box.out.rglob("*") if p.is_file())
    # the reports and the folder's owner mark (test_athletes_whose_names_slugify_alike...)
    assert left == ["in/.kneeflags-athlete", *(f"in/{WEEK}.{e}" for e in ("html", "json", "md"))]


def test_a_planted_lock_symlink_is_never_followed(tmp_path: Path) -> None:
    """A ``.kneeflags.lock`` symlink in the athlete folder used to get its target created."""
    box = _box(tmp_path)
    victim = tmp_path / "elsewhere" / "created-by-kneeflags"
    victim.parent.mkdir()
    (box.out / "in").mkdir()
    (box.out / "in" / ".kneeflags.lock").symlink_to(victim)
    (box.cache).mkdir()
    box.freeze()
    assert _cron(box).code == EXIT_OK
    box.verify()
    assert not victim.exists(), "kneeflags created the target of a planted lock symlink"


def test_the_repository_commits_no_lock_files() -> None:
    from hostile import REPO_ROOT

    assert not list((REPO_ROOT / "reports").rglob(".kneeflags.lock"))


# --- a full disk mid-write ------------------------------------------------------------------


def test_disk_full_mid_write_keeps_the_old_trio_and_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC on the second report file: all three stay the previous run's, the error names
    the file, and no temporary file is left."""
    box = _box(tmp_path)
    assert _cron(box).code == EXIT_OK
    folder = box.out / "in"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    box.put("good-c.fit", fit_run(4, seed=3))  # new data: every file would change
    box.freeze()
    real_fsync = os.fsync
    calls: list[int] = []

    def full_disk(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode) and ".html." in os.readlink(f"/proc/self/fd/{fd}"):
            calls.append(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell the files apart")
    monkeypatch.setattr(os, "fsync", full_disk)
    run = _cron(box)
    monkeypatch.setattr(os, "fsync", real_fsync)
    box.verify()
    run.no_traceback()
    assert calls, "the simulated full disk was never hit"
    assert run.code == EXIT_INPUT
    assert f"out/in/{WEEK}.html" in run.stderr and "No space left" in run.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_matplotlib_writes_nothing_under_home(tmp_path: Path) -> None:
    """Charts used to create ``~/.config/matplotlib`` and a font cache in ``~/.cache``:
    with HOME inside the hashed sandbox, only ``out/`` and ``cache/`` may change, with
    the cache and with ``--no-cache`` (a temporary folder, removed at exit)."""
    from hostile import subprocess_env

    box = _box(tmp_path)
    home = box.root / "home"
    home.mkdir()
    box.freeze()
    env = {
        k: v
        for k, v in subprocess_env(box, HOME=str(home)).items()
        if k not in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR")
    }
    for extra in (["--cache-dir", "cache"], ["--no-cache"]):
        run = run_subprocess(
            box,
            ["analyze", "in", "--format", "html", "-o", "out/r.html", *extra],
            env=env,
        )
        run.no_traceback()
        assert run.code == EXIT_OK, run.stderr
        assert "<svg" in (box.out / "r.html").read_text(encoding="utf-8")
        box.verify()
    assert not list(home.iterdir())
    assert not [p for p in box.cache.iterdir() if p.name.startswith("kneeflags-matplotlib")]


def test_athletes_whose_names_slugify_alike_never_share_a_folder(tmp_path: Path) -> None:
    """ "Anne-Marie" and "Anne Marie" both slugify to ``Anne-Marie``: two cron jobs used to
    overwrite each other's reports. Each name keeps its own folder, run after run, also
    when a batch holds both."""
    import json

    box = Sandbox(tmp_path)
    box.put("hyphen/a.fit", fit_run(0, seed=1))
    box.put("space/b.fit", fit_run(1, seed=2))
    box.put("both/Anne-Marie/a.fit", fit_run(0, seed=1))
    box.put("both/Anne Marie/b.fit", fit_run(1, seed=2))
    box.out.mkdir()
    box.freeze()

    def cron(folder: str, name: str) -> None:
        with chdir(box.root):
            run = run_cli(["report", f"in/{folder}", "--out-dir", "out/r", "--week", WEEK,
                           "--athlete", name, "--cache-dir", "cache"])  # fmt: skip
        run.no_traceback()
        assert run.code == EXIT_OK, run.stderr

    def owners(root: Path) -> dict[str, str]:
        return {
            p.parent.name: json.loads(p.read_text())["athletes"][0]["athlete"]
            for p in root.glob(f"*/{WEEK}.json")
        }

    for _ in range(2):  # reruns keep each athlete in its folder
        cron("hyphen", "Anne-Marie")
        cron("space", "Anne Marie")
        found = owners(box.out / "r")
        assert sorted(found.values()) == ["Anne Marie", "Anne-Marie"], found
        assert found["Anne-Marie"] == "Anne-Marie"
    with chdir(box.root):
        batch = run_cli(["batch", "in/both", "--out-dir", "out/r", "--until", WEEK_SUNDAY,
                         "--cache-dir", "cache", "-j", "1", "-o", "out/summary.txt"])  # fmt: skip
    batch.no_traceback()
    assert batch.code == EXIT_OK, batch.stderr
    batch_owners = {
        p.parent.name: json.loads(p.read_text())["athletes"][0]["athlete"]
        for p in (box.out / "r").glob("*/*.json")
    }
    assert sorted(batch_owners.values()) == ["Anne Marie", "Anne-Marie"], batch_owners
    cron_folder = {v: k for k, v in owners(box.out / "r").items()}
    batch_folder = {v: k for k, v in batch_owners.items()}
    assert cron_folder["Anne Marie"].startswith("Anne-Marie-")  # the plain slug was taken
    box.verify()
    # the same name, the same folder, whether written by cron or by the batch
    assert batch_folder["Anne-Marie"] == "Anne-Marie"
    assert batch_folder["Anne Marie"].startswith("Anne-Marie-")


def test_out_dir_inside_the_inputs_is_never_read_back(tmp_path: Path) -> None:
    """``report in --out-dir in/reports``: the second run used to read the first run's
    reports (counted as skipped files, named in the JSON), so the JSON changed."""
    box = _box(tmp_path)
    inputs = {p: p.read_bytes() for p in box.inputs.rglob("*.fit")}
    args = ["report", "in", "--out-dir", "in/reports", "--week", WEEK, "--cache-dir", "cache"]
    docs = []
    for _ in range(3):
        with chdir(box.root):
            run = run_cli(args)
        run.no_traceback()
        assert run.code == EXIT_OK, run.stderr
        docs.append((box.inputs / "reports" / "in" / f"{WEEK}.json").read_bytes())
    assert docs[0] == docs[1] == docs[2]
    assert b'"skipped": 0' in docs[0]
    assert {p: p.read_bytes() for p in box.inputs.rglob("*.fit")} == inputs


def test_report_trees_under_the_inputs_are_never_read(tmp_path: Path) -> None:
    """A batch --out-dir inside the batch folder became an "unreadable" athlete on the
    next run; an old report tree under an analyzed folder was counted as skipped files.
    Report folders carry the athlete mark: they are output, never input."""
    import json

    box = Sandbox(tmp_path)
    box.put("team/ann/a.fit", fit_run(0, seed=1))
    box.put("team/bob/b.fit", fit_run(1, seed=2))
    box.out.mkdir()
    args = ["batch", "in/team", "--out-dir", "in/team/zz-reports", "--until", WEEK_SUNDAY,
            "--cache-dir", "cache", "-j", "1", "--format", "json",
            "-o", "out/team.json"]  # fmt: skip
    docs = []
    for _ in range(2):
        with chdir(box.root):
            run = run_cli(args)
        run.no_traceback()
        assert run.code == EXIT_OK, run.stderr
        docs.append(json.loads((box.out / "team.json").read_text()))
    assert [a["athlete"] for a in docs[1]["athletes"]] == [
        a["athlete"] for a in docs[0]["athletes"]
    ]
    assert sorted(a["athlete"] for a in docs[1]["athletes"]) == ["ann", "bob"]
    with chdir(box.root):
        plain = run_cli(["analyze", "in/team", "--format", "json", "--cache-dir", "cache"])
    # the whole report tree (athlete folders, index.html, Parquet tables and parts) is
    # output: nothing of it is read, not even as a skipped file
    assert json.loads(plain.stdout)["skipped"] == 0
