"""A hostile file system under the command line (issue 6): symlink loops, FIFOs and devices,
unreadable files and folders, files that vanish mid-run, and file names that are not text.

The tests run as root in CI, where ``chmod 000`` restricts nothing; unreadable files and
folders are therefore *simulated* by making ``os.open`` / ``os.scandir`` fail with
``EACCES`` for the victim only (the chmod test itself runs when not root).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import (
    EXIT_INPUT,
    CliRun,
    Sandbox,
    alarm_fixture,
    analyze_json,
    chdir,
    fit_run,
    is_root,
    run_cli,
)

import kneeflags.pipeline as pipeline
from kneeflags.sources import SourceItem

_hang_guard = alarm_fixture(60)

GOOD_A, GOOD_B = "in/a-good.fit", "in/sub/b-good.fit"


def _box(root: Path) -> Sandbox:
    box = Sandbox(root)
    box.put("a-good.fit", fit_run(0, seed=1))
    box.put("sub/b-good.fit", fit_run(2, seed=2))
    return box


def _run(box: Sandbox, paths: list[str] | None = None, limit: float = 10.0) -> CliRun:
    t0 = time.monotonic()
    run = analyze_json(box, paths, timeout=limit * 3)
    assert time.monotonic() - t0 < limit, "took too long (a loop or a blocking read?)"
    return run


def _msgs(run: CliRun, fragment: str) -> str:
    return " | ".join(p["message"] for p in run.problems() if fragment in p["path"])


# --- symlinks ----------------------------------------------------------------------------


def _loops(box: Sandbox) -> None:
    d = box.inputs
    (d / "self").symlink_to("self")
    (d / "loop1").symlink_to(".")
    (d / "loop2").symlink_to(".")
    (d / "sub" / "up").symlink_to("..")
    (d / "ping").symlink_to("pong")
    (d / "pong").symlink_to("ping")
    (d / "dangling.fit").symlink_to("nowhere.fit")


def test_symlink_loops_in_a_directory(tmp_path: Path) -> None:
    box = _box(tmp_path)
    _loops(box)
    box.freeze()
    run = _run(box)
    box.verify()
    run.check(good=[GOOD_A, GOOD_B], bad=["in/self", "in/ping", "in/dangling.fit"])
    assert run.code == EXIT_INPUT
    assert sorted(run.sources()) == [GOOD_A, GOOD_B]  # each run once, no loop copies
    assert "symbolic links" in _msgs(run, "in/self")


@pytest.mark.parametrize("pattern", ["in/**/*.fit", "in/**", "**/*-good.fit"])
def test_symlink_loops_under_a_recursive_glob(tmp_path: Path, pattern: str) -> None:
    """Two links to ``.`` made ``glob('**')`` explore 2**40 paths: a hang, now a walk."""
    box = _box(tmp_path)
    _loops(box)
    box.freeze()
    run = _run(box, [pattern])
    box.verify()
    run.check(good=[GOOD_A, GOOD_B], codes={0, EXIT_INPUT})
    assert sorted(run.sources()) == [GOOD_A, GOOD_B]


# --- things that are not regular files ---------------------------------------------------


@pytest.fixture
def specials(tmp_path: Path) -> Iterator[Sandbox]:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    box = _box(tmp_path)
    os.mkfifo(box.inputs / "pipe.fit")
    os.mkfifo(box.inputs / "pipe-notes")
    (box.inputs / "zero.fit").symlink_to("/dev/zero")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.getcwd()
    os.chdir(box.inputs)  # short relative path: AF_UNIX paths are limited to ~100 bytes
    try:
        sock.bind("sock.gpx")
    finally:
        os.chdir(old)
    box.freeze()
    try:
        yield box
    finally:
        sock.close()


def test_fifo_device_and_socket_are_refused_not_read(specials: Sandbox) -> None:
    """A FIFO used to block kneeflags forever; /dev/zero was read to the 512 MiB cap."""
    run = _run(specials, limit=5.0)
    specials.verify()
    run.check(
        good=[GOOD_A, GOOD_B],
        bad=["in/pipe.fit", "in/zero.fit", "in/sock.gpx"],
        bad_in="errors",
        codes={EXIT_INPUT},
    )
    assert "named pipe" in _msgs(run, "pipe.fit")
    assert "device" in _msgs(run, "zero.fit")
    assert not _msgs(run, "pipe-notes")  # not an activity name: skipped, not an error


def test_fifo_named_directly(specials: Sandbox) -> None:
    run = _run(specials, ["in/pipe.fit", "in/zero.fit", GOOD_A], limit=5.0)
    specials.verify()
    run.check(good=[GOOD_A], bad=["in/pipe.fit", "in/zero.fit"], codes={EXIT_INPUT})


# --- unreadable --------------------------------------------------------------------------


def test_unreadable_file_by_permissions(tmp_path: Path) -> None:
    if is_root():
        pytest.skip(
            "running as root: chmod 000 does not restrict root (see test_unreadable_file_simulated)"
        )
    box = _box(tmp_path)
    victim = box.put("locked.fit", fit_run(4, seed=4))
    victim.chmod(0)
    box.freeze()
    try:
        run = _run(box)
        box.verify()
        run.check(good=[GOOD_A, GOOD_B], bad=["in/locked.fit"], bad_in="errors")
        assert "ermission" in _msgs(run, "locked.fit")
    finally:
        victim.chmod(0o644)


def _deny(monkeypatch: pytest.MonkeyPatch, name: str, victim: str) -> None:
    """Make ``os.<name>(victim, ...)`` fail with EACCES (what chmod 000 does to a non-root)."""
    real = getattr(os, name)

    def guarded(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path)) == victim:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, name, guarded)
    if name == "open":  # the built-in open() does not go through os.open
        import builtins

        real_open = builtins.open

        def guarded_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if (
                isinstance(file, str | bytes | os.PathLike)
                and os.path.basename(os.fsdecode(file)) == victim
            ):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", guarded_open)


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = _box(tmp_path)
    box.put("locked.fit", fit_run(4, seed=4))
    box.freeze()
    _deny(monkeypatch, "open", "locked.fit")
    run = _run(box)
    monkeypatch.undo()
    box.verify()
    run.check(good=[GOOD_A, GOOD_B], bad=["in/locked.fit"], bad_in="errors", codes={EXIT_INPUT})
    assert "Permission denied" in _msgs(run, "locked.fit")


def test_unreadable_folder_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.walk`` skips folders it cannot list without a word: their runs would vanish."""
    box = _box(tmp_path)
    box.put("locked/c.fit", fit_run(4, seed=4))
    box.freeze()
    _deny(monkeypatch, "scandir", "locked")
    run = _run(box)
    monkeypatch.undo()
    box.verify()
    run.check(good=[GOOD_A, GOOD_B], bad=["in/locked"], bad_in="errors", codes={EXIT_INPUT})
    assert "Permission denied" in _msgs(run, "in/locked")


# --- vanishing files ---------------------------------------------------------------------


def test_file_deleted_by_the_read_of_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the first file deletes a later one (another process cleaning up)."""
    box = _box(tmp_path)
    victim = box.put("sub/c-victim.fit", fit_run(4, seed=4))
    box.freeze()
    real_read = SourceItem.read

    def read(self: SourceItem) -> bytes:
        if self.ref.path.endswith("a-good.fit") and victim.exists():
            victim.unlink()
        return real_read(self)

    monkeypatch.setattr(SourceItem, "read", read)
    run = _run(box)
    monkeypatch.undo()
    box.verify(removed=["in/sub/c-victim.fit"])
    run.check(
        good=[GOOD_A, GOOD_B], bad=["in/sub/c-victim.fit"], bad_in="errors", codes={EXIT_INPUT}
    )
    assert "No such file" in _msgs(run, "c-victim.fit")


@pytest.mark.parametrize("how", ["deleted", "folder-removed", "became-a-fifo"])
def test_listed_then_gone_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    box = _box(tmp_path)
    victim = box.put("gone/c-victim.fit", fit_run(4, seed=4))
    box.freeze()
    real_iter = pipeline.iter_sources

    def listed_then_changed(paths, **kwargs):  # type: ignore[no-untyped-def]
        items = list(real_iter(paths, **kwargs))
        if how == "deleted":
            victim.unlink()
        elif how == "folder-removed":
            shutil.rmtree(victim.parent)
        else:
            victim.unlink()
            os.mkfifo(victim)
        return items

    monkeypatch.setattr(pipeline, "iter_sources", listed_then_changed)
    run = _run(box, limit=5.0)
    monkeypatch.undo()
    removed = ["in/gone/c-victim.fit"] + (["in/gone"] if how == "folder-removed" else [])
    if how == "became-a-fifo":
        assert stat.S_ISFIFO(victim.lstat().st_mode)
        victim.unlink()
    box.verify(removed=removed)
    run.check(
        good=[GOOD_A, GOOD_B], bad=["in/gone/c-victim.fit"], bad_in="errors", codes={EXIT_INPUT}
    )


# --- names that are not text -------------------------------------------------------------


def test_file_names_that_are_not_utf8_or_hold_newlines(tmp_path: Path) -> None:
    """A Latin-1 name from an old zip aborted every run; a newline could forge a log line."""
    box = _box(tmp_path)
    raw = os.fsencode(box.inputs) + b"/caf\xe9-\xff.fit"
    with open(raw, "wb") as fh:
        fh.write(fit_run(4, seed=4))
    (box.inputs / "evil\nkneeflags: all files fine\r.fit").write_bytes(b"junk")
    box.freeze()
    run = _run(box)
    box.verify()
    run.check(good=[GOOD_A, GOOD_B, "in/caf\\xe9-\\xff.fit"], bad=["in/evil"], codes={EXIT_INPUT})
    with chdir(box.root):
        cron = run_cli(
            ["report", "in", "--out-dir", "out/cron", "--week", "2025-W10", "--cache-dir", "cache"]
        )
    box.verify()
    cron.no_traceback()  # every stderr line starts with "kneeflags: "
    assert cron.code == EXIT_INPUT
    assert len(cron.stderr.splitlines()) == 1, cron.stderr  # one error, one line
    written = {p.suffix for p in (box.out / "cron").rglob("*.*") if not p.name.startswith(".")}
    assert written == {".md", ".html", ".json"}


_FORGERS = {
    "c1": "evil\x85kneeflags: all files fine\x9b2J.fit",
    "u2028": "evil\u2028kneeflags: all files fine\u2029.fit",
    "bidi": "evil\u202etif.fit\u2066x\u2069.fit",
}
"""Names that forge lines for ``str.splitlines`` (U+0085, U+2028, U+2029) or terminals
(C1 CSI ``\\x9b``), or display as another name (U+202E reverses what follows)."""

_INVISIBLE = "".join(map(chr, [*range(0x80, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F)]))
_INVISIBLE += "".join(map(chr, range(0x2066, 0x206A)))


@pytest.mark.parametrize("kind", sorted(_FORGERS))
def test_c1_line_separators_and_bidi_in_names_cannot_forge_lines(tmp_path: Path, kind: str) -> None:
    """One unreadable file is one stderr line, one Markdown line, one CSV row; none of
    the characters reaches any output."""
    box = _box(tmp_path)
    (box.inputs / _FORGERS[kind]).write_bytes(b"junk")
    box.freeze()
    with chdir(box.root):
        cron = run_cli(
            ["report", "in", "--out-dir", "out/cron", "--week", "2025-W10", "--cache-dir", "cache"]
        )
        md = run_cli(["analyze", "in", "--format", "markdown", "--cache-dir", "cache"])
        athlete = "evil " + _FORGERS[kind].removesuffix(".fit")  # the CSV's only text cell
        csv = run_cli(
            ["analyze", "in", "--format", "csv", "--cache-dir", "cache", "--athlete", athlete]
        )
    box.verify()
    cron.no_traceback()
    assert cron.code == EXIT_INPUT
    assert len(cron.stderr.splitlines()) == 1, cron.stderr
    for run in (md, csv):
        assert not any(ch in run.stdout for ch in _INVISIBLE), repr(run.stdout[-300:])
        lines = [ln for ln in run.stdout.splitlines() if "evil" in ln or ln.startswith("athlete")]
        assert len(lines) == (1 if run is md else 2), lines  # CSV: header + one week
        assert len(run.stderr.splitlines()) == 1, run.stderr
    for report in (box.out / "cron").rglob("*.*"):
        assert not any(ch in report.read_text(encoding="utf-8") for ch in _INVISIBLE), report
