"""Hostile archives through the whole command line (issue 6): gzip and zip bombs, lying
headers, overlapping members, path-traversal member names, and broken archives.

Archives are read in memory and never extracted, so a member called ``../../x.fit`` or
``/abs/x.fit`` is only a name: the test checks the file system (nothing appears outside
``out/``/``cache/``, nor at the paths the names point to). Bombs are built in the test
from one deflate block repeated (2 GiB of zeros in ~2 MB, in milliseconds) and must be
refused from their headers or within the first inflate step: each case has a time bound.
"""

from __future__ import annotations

import gzip
import io
import secrets
import time
import zipfile
from pathlib import Path

import pytest
from hostile import (
    EXIT_INPUT,
    EXIT_OK,
    MIB,
    CliRun,
    Sandbox,
    ZipEntry,
    alarm_fixture,
    analyze_json,
    build_zip,
    deflated,
    fit_run,
    gzip_zeros,
    stored,
    zeros_member,
)

_hang_guard = alarm_fixture(60)

GIB = 1 << 30
GOOD = "in/good.fit"
BOMB_SECONDS = 8.0
"""A refused bomb may cost the first inflate step, never the cap (let alone the bomb)."""


def _box(root: Path, files: dict[str, bytes]) -> Sandbox:
    box = Sandbox(root)
    box.put("good.fit", fit_run(0, seed=1))
    for name, data in files.items():
        box.put(name, data)
    box.freeze()
    return box


def _timed(box: Sandbox, limit: float = BOMB_SECONDS) -> CliRun:
    t0 = time.monotonic()
    run = analyze_json(box, None, timeout=limit * 4)
    elapsed = time.monotonic() - t0
    box.verify()
    assert elapsed < limit, f"took {elapsed:.1f} s: the bomb was (partly) inflated"
    return run


def _msgs(run: CliRun, fragment: str) -> str:
    return " | ".join(p["message"] for p in run.problems() if fragment in p["path"])


# --- gzip ----------------------------------------------------------------------------------


def test_gz_that_is_not_gzip_is_read_by_content(tmp_path: Path) -> None:
    """A plain FIT misnamed ``.fit.gz`` is still a FIT file: content decides, not the name."""
    box = _box(tmp_path, {"plain.fit.gz": fit_run(2, seed=2)})
    run = _timed(box)
    run.check(good=[GOOD, "in/plain.fit.gz"], codes={EXIT_OK})


@pytest.mark.parametrize(
    "payload",
    [
        b"just some text, no gzip here\n" * 10,
        b"\x1f\x8b\x08\x00" + b"\xde\xad\xbe\xef" * 64,
        b"\x1f\x8b",
    ],
    ids=["text", "corrupt-deflate", "magic-only"],
)
def test_broken_gz_is_one_error(tmp_path: Path, payload: bytes) -> None:
    box = _box(tmp_path, {"bad.gpx.gz": payload})
    run = _timed(box)
    run.check(good=[GOOD], bad=["in/bad.gpx.gz"], bad_in="errors", codes={EXIT_INPUT})


def test_truncated_gz_keeps_the_partial_run(tmp_path: Path) -> None:
    packed = gzip.compress(fit_run(2, seed=2))
    box = _box(tmp_path, {"cut.fit.gz": packed[: len(packed) * 2 // 3]})
    run = _timed(box)
    run.check(good=[GOOD, "in/cut.fit.gz"], bad=["in/cut.fit.gz"], codes={EXIT_OK})


def test_gzip_bomb_is_refused_early(tmp_path: Path) -> None:
    bomb = gzip_zeros(2 * GIB)
    assert len(bomb) < 3 * MIB
    box = _box(tmp_path, {"bomb.fit.gz": bomb})
    run = _timed(box, 2.0)
    run.check(good=[GOOD], bad=["in/bomb.fit.gz"], bad_in="errors", codes={EXIT_INPUT})
    assert "bomb" in _msgs(run, "bomb.fit.gz")


# --- zip bombs -----------------------------------------------------------------------------


def _export(*entries: ZipEntry) -> bytes:
    """A zip export: one good run plus ``entries``."""
    return build_zip([stored("activities/ok.fit", fit_run(3, seed=3)), *entries])


def test_zip_bomb_with_honest_sizes_is_refused_from_the_header(tmp_path: Path) -> None:
    archive = _export(zeros_member("activities/bomb.fit", 2 * GIB))
    assert len(archive) < 3 * MIB
    box = _box(tmp_path, {"export.zip": archive})
    run = _timed(box, 5.0)
    run.check(
        good=[GOOD, "in/export.zip!activities/ok.fit"],
        bad=["in/export.zip!activities/bomb.fit"],
        bad_in="errors",
        codes={EXIT_INPUT},
    )


def test_zip_bomb_under_the_size_cap_is_refused_by_its_ratio(tmp_path: Path) -> None:
    """500 MiB of zeros (below the 512 MiB member cap) in 0.5 MB: refused, not inflated."""
    archive = _export(zeros_member("activities/bomb.fit", 500 * MIB))
    box = _box(tmp_path, {"export.zip": archive})
    run = _timed(box, 3.0)
    run.check(
        good=[GOOD, "in/export.zip!activities/ok.fit"],
        bad=["in/export.zip!activities/bomb.fit"],
        bad_in="errors",
        codes={EXIT_INPUT},
    )
    assert "zip bomb" in _msgs(run, "bomb.fit")


def test_zip_member_lying_about_its_size_is_read_only_as_far_as_it_claims(
    tmp_path: Path,
) -> None:
    """Headers claim 1 MiB, the stream holds 2 GiB: reading stops at the claim."""
    archive = _export(zeros_member("activities/liar.fit", 2 * GIB, claim=MIB))
    box = _box(tmp_path, {"export.zip": archive})
    run = _timed(box, 2.0)
    run.check(
        good=[GOOD, "in/export.zip!activities/ok.fit"],
        bad=["in/export.zip!activities/liar.fit"],
        bad_in="errors",
        codes={EXIT_INPUT},
    )


@pytest.mark.parametrize("wrapper", ["zip", "zip.gz"])
def test_overlapping_members_are_refused(tmp_path: Path, wrapper: str) -> None:
    """Thousands of directory entries sharing one 400 MiB deflate stream (a 'better zip bomb').

    Through a ``.zip.gz`` nothing de-duplicates the entries, so without the overlap check
    this inflated 400 MiB per entry: terabytes from a 2 MB file.
    """
    kernel = zeros_member("activities/a.fit", 400 * MIB, claim=400 * MIB)
    dupes = [
        ZipEntry(kernel.name, kernel.payload, kernel.file_size, kernel.crc, offset=0)
        for _ in range(2000)
    ]
    archive = build_zip([kernel, *dupes])
    data = gzip.compress(archive) if wrapper == "zip.gz" else archive
    box = _box(tmp_path, {f"bomb.{wrapper}": data})
    run = _timed(box, 5.0)
    run.check(good=[GOOD], bad=[f"in/bomb.{wrapper}"], bad_in="errors", codes={EXIT_INPUT})
    assert "overlapping" in _msgs(run, "bomb")


def test_bomb_nested_in_a_garmin_export_is_refused(tmp_path: Path) -> None:
    inner = build_zip(
        [
            stored("ok.fit", fit_run(3, seed=3)),
            zeros_member("bomb.fit", 500 * MIB),
        ]
    )
    outer = build_zip([stored("DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0.zip", inner)])
    box = _box(tmp_path, {"garmin.zip": outer})
    run = _timed(box, 3.0)
    run.check(good=[GOOD], bad=["bomb.fit"], bad_in="errors", codes={EXIT_INPUT})
    assert any(s.endswith("UploadedFiles_0.zip!ok.fit") for s in run.sources())


def test_zips_nested_too_deeply_are_refused(tmp_path: Path) -> None:
    data = fit_run(3, seed=3)
    name = "run.fit"
    for depth in range(5):
        data = build_zip([stored(name, data)])
        name = f"level{depth}.zip"
    box = _box(tmp_path, {"deep.zip": data})
    run = _timed(box)
    run.check(good=[GOOD], bad=["in/deep.zip"], bad_in="errors", codes={EXIT_INPUT})
    assert "deep" in _msgs(run, "deep.zip")


def test_member_count_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kneeflags.sources as sources

    monkeypatch.setattr(sources, "MAX_ZIP_MEMBERS", 3)
    archive = build_zip([stored(f"n{i}.txt", b"x") for i in range(6)])
    box = _box(tmp_path, {"many.zip": archive})
    run = _timed(box)
    run.check(good=[GOOD], bad=["in/many.zip"], bad_in="errors", codes={EXIT_INPUT})
    assert "only the first 3" in _msgs(run, "many.zip")


# --- member names and odd members ----------------------------------------------------------


def test_traversal_and_absolute_member_names_write_nothing(tmp_path: Path) -> None:
    box_root = tmp_path / "box"
    token = secrets.token_hex(6)
    escape_abs = tmp_path / f"escaped-{token}" / "abs.fit"
    names = {
        "../../x.fit": 10,
        "../../../../../../tmp/y.fit": 11,
        str(escape_abs): 12,
        "..\\..\\win.fit": 13,
        "C:/Windows/z.fit": 14,
        "activities/../../../up.fit": 15,
    }
    archive = build_zip([deflated(n, fit_run(day, seed=day)) for n, day in names.items()])
    box = _box(box_root, {"export.zip": archive})
    before_tmp = sorted(p.name for p in tmp_path.iterdir())
    run = _timed(box)
    # every member is read as the run it holds, under its (harmless) name
    run.check(good=[GOOD, *(f"in/export.zip!{n}" for n in names)], codes={EXIT_OK})
    assert sorted(p.name for p in tmp_path.iterdir()) == before_tmp
    assert not escape_abs.exists() and not escape_abs.parent.exists()
    for p in (box_root.parent / "x.fit", box_root / "x.fit", box_root.parent / "up.fit"):
        assert not p.exists()


def test_symlink_member_is_only_bytes(tmp_path: Path) -> None:
    """A member stored as a symlink to /etc/passwd is the 11 bytes '/etc/passwd'."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.fit", fit_run(3, seed=3))
        info = zipfile.ZipInfo("passwd.fit")
        info.external_attr = (0o120777 << 16) | 0x20  # S_IFLNK
        zf.writestr(info, "/etc/passwd")
    box = _box(tmp_path, {"links.zip": buf.getvalue()})
    run = _timed(box)
    run.check(
        good=[GOOD, "in/links.zip!ok.fit"],
        bad=["in/links.zip!passwd.fit"],
        bad_in="errors",
        codes={EXIT_INPUT},
    )
    assert "root:x:0:0" not in (box.out / "report.json").read_text()


def test_encrypted_member_is_named(tmp_path: Path) -> None:
    enc = stored("secret.fit", fit_run(3, seed=3))
    archive = build_zip([enc])
    archive = archive.replace(b"PK\x03\x04\x14\x00\x00\x08", b"PK\x03\x04\x14\x00\x01\x08", 1)
    archive = archive.replace(
        b"PK\x01\x02\x14\x00\x14\x00\x00\x08", b"PK\x01\x02\x14\x00\x14\x00\x01\x08"
    )
    box = _box(tmp_path, {"enc.zip": archive})
    run = _timed(box)
    run.check(good=[GOOD], bad=["in/enc.zip!secret.fit"], bad_in="errors", codes={EXIT_INPUT})
    assert "encrypted" in _msgs(run, "secret.fit")


@pytest.mark.parametrize(
    "payload",
    [
        b"PK\x03\x04" + b"\x00" * 100,
        build_zip([stored("a.fit", b"x" * 100)])[:-30],
    ],
    ids=["local-header-only", "cut-central-directory"],
)
def test_broken_zip_is_one_error(tmp_path: Path, payload: bytes) -> None:
    box = _box(tmp_path, {"broken.zip": payload})
    run = _timed(box)
    run.check(good=[GOOD], bad=["in/broken.zip"], codes={EXIT_OK, EXIT_INPUT})


# --- round two (issue 10): linear member reads, chain budget, member keys ------------------


def _count_directory_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count central-directory parses (what reopening a zip costs) in this process."""
    calls = [0]
    real = zipfile.ZipFile._RealGetContents  # type: ignore[attr-defined]

    def counting(self: zipfile.ZipFile) -> None:
        calls[0] += 1
        real(self)

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", counting)
    return calls


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "garmin-nested"])
def test_many_member_export_opens_each_archive_once_per_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nested: bool
) -> None:
    """2,000 members: each archive's directory is parsed a few times a run, not per member.

    Reopening the zip for every member read made the run quadratic (2,000 one-byte
    members: 31 s, 10,000: over 600 s), in the parent's hashing pass and in the parse.
    Counting directory parses is the linearity test; wall-clock would be flaky.
    """
    from kneeflags.pipeline import run_pipeline

    members = [stored(f"activities/n{i:05d}.txt", b"x") for i in range(2000)]
    members.append(stored("activities/run.fit", fit_run(3, seed=3)))
    archive = build_zip(members)
    if nested:
        archive = build_zip([stored("DI_CONNECT/UploadedFiles_0.zip", archive)])
    box = _box(tmp_path, {"export.zip": archive})
    calls = _count_directory_parses(monkeypatch)
    for _ in range(2):  # cold (hash + parse), then warm (hash only)
        calls[0] = 0
        res = run_pipeline([box.inputs], cache_dir=box.cache, workers=1)
        assert [s for s in res.analysis.activities["source"] if "export.zip" in s]
        assert res.skipped == 2000
        assert calls[0] <= 8, f"{calls[0]} directory parses for 2,001 members"
    box.verify()


def test_nested_archive_expansion_is_budgeted_for_the_whole_chain(tmp_path: Path) -> None:
    """Members under the per-member ratio check, nested: the chain is capped as one.

    20 members of 7 MiB zeros (each below the 8 MiB ratio-check floor) in an inner zip
    stored in an outer one: 140 MiB from ~150 KB. Every level passed its own checks and
    the members were inflated, then counted as "skipped" (not activity files). The
    chain's budget (200 x the outer archive, at least 64 MiB) refuses the excess by name.
    """
    inner = build_zip(
        [stored("ok.fit", fit_run(3, seed=3))]
        + [zeros_member(f"blob{i:02d}.bin", 7 * MIB) for i in range(20)]
    )
    outer = build_zip([stored("DI_CONNECT/UploadedFiles_0.zip", inner)])
    assert len(outer) < 400_000
    box = _box(tmp_path, {"nested.zip": outer})
    run = _timed(box, 5.0)
    run.check(good=[GOOD], bad=["blob19.bin"], bad_in="errors", codes={EXIT_INPUT})
    assert any(s.endswith("UploadedFiles_0.zip!ok.fit") for s in run.sources())
    refused = [p for p in run.problems("errors") if "blob" in p["path"]]
    assert len(refused) >= 11 and all("zip bomb" in p["message"] for p in refused)
    assert run.doc is not None and run.doc["skipped"] + len(refused) <= 20


def test_duplicate_member_names_are_both_read(tmp_path: Path) -> None:
    """Two different members called ``run.fit``, and one literally ``inner.zip!run.fit``
    next to an ``inner.zip`` holding ``run.fit``: four runs, four activities."""
    inner = build_zip([stored("run.fit", fit_run(5, seed=5))])
    archive = build_zip(
        [
            stored("run.fit", fit_run(1, seed=1)),
            stored("run.fit", fit_run(2, seed=2)),
            stored("inner.zip!run.fit", fit_run(4, seed=4)),
            stored("inner.zip", inner),
        ]
    )
    box = _box(tmp_path, {"dups.zip": archive})
    run = _timed(box)
    run.check(good=[GOOD], codes={EXIT_OK})
    sources = [s for s in run.sources() if "dups.zip" in s]
    assert len(sources) == 4, sources
    assert "in/dups.zip!run.fit" in sources
    assert "in/dups.zip!run.fit (entry 2 of that name)" in sources
    assert not [p for p in run.problems() if "copy" in p["message"]]


def test_member_named_like_a_folder_that_holds_data_is_read(tmp_path: Path) -> None:
    """``run.fit/`` with bytes in it is a file (some zip tools write such names)."""
    archive = build_zip([stored("run.fit/", fit_run(2, seed=2))])
    box = _box(tmp_path, {"slash.zip": archive})
    run = _timed(box)
    run.check(good=[GOOD, "in/slash.zip!run.fit"], codes={EXIT_OK})


def test_identical_members_across_uploaded_files_name_the_right_original(
    tmp_path: Path,
) -> None:
    """Copies across ``UploadedFiles_0/_1/_9`` were called copies of themselves, or of
    another copy: the original was looked up among the copies only."""
    a, b = fit_run(1, seed=1), fit_run(2, seed=2)
    part = "DI_CONNECT/UploadedFiles_{}.zip"
    outer = build_zip(
        [
            stored(part.format(0), build_zip([stored("run.fit", a), stored("other.fit", b)])),
            stored(part.format(1), build_zip([stored("run.fit", a)])),
            stored(part.format(9), build_zip([stored("copy.fit", a), stored("run.fit", b)])),
        ]
    )
    box = _box(tmp_path, {"garmin.zip": outer})
    run = _timed(box)
    run.check(good=[GOOD], codes={EXIT_OK})
    where = "in/garmin.zip!" + part

    def member(n: int, name: str) -> str:
        return where.format(n) + "!" + name

    copies = {
        p["path"]: p["message"]
        for p in run.problems("warnings")
        if "identical copy" in p["message"]
    }
    assert copies == {
        member(1, "run.fit"): f"identical copy of {member(0, 'run.fit')}: counted once",
        member(9, "copy.fit"): f"identical copy of {member(0, 'run.fit')}: counted once",
        member(9, "run.fit"): f"identical copy of {member(0, 'other.fit')}: counted once",
    }


def test_archives_kept_open_are_per_thread(tmp_path: Path) -> None:
    """A batch may run pipelines in threads of one process: one run releasing its open
    archives must not close the archive another thread is reading."""
    import threading

    from kneeflags.sources import iter_sources, release_archives

    archive = build_zip([stored(f"m{i:03d}.txt", bytes([i % 256]) * 10) for i in range(300)])
    path = tmp_path / "many.zip"
    path.write_bytes(archive)
    items = list(iter_sources([path]))
    failures: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(3):
                for i, item in enumerate(items):
                    assert item.read() == bytes([i % 256]) * 10
                    if i % 50 == 0:
                        release_archives()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:1]
