"""The symptom log: validation writes nothing, CSV round trip keeps the episodes, order-free
derivation, two writer processes."""

from __future__ import annotations

import multiprocessing
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from journal_fixtures import itbs_story

from kneeflags.journal import JournalError, open_journal
from kneeflags.journal.episodes import derive_episodes
from kneeflags.journal.symptoms import (
    SymptomEntry,
    add_entries,
    add_entry,
    export_csv,
    list_entries,
    read_csv,
)

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"during": 11},
        {"after": "x"},
        {"site": "inner"},
        {"side": "middle"},
        {"date": date(2026, 6, 2)},
        {"onset_km": -1},
    ],
)
def test_bad_entry_is_one_line_and_writes_nothing(tmp_path: Path, bad: dict) -> None:
    target = tmp_path / "j.sqlite"
    with open_journal(target) as j:
        add_entry(j, SymptomEntry("alex", "pain", date(2026, 5, 1), site="outer"), today=TODAY)
        fields = {"athlete": "alex", "kind": "pain", "date": date(2026, 5, 2), **bad}
        with pytest.raises(JournalError) as err:
            add_entries(j, [SymptomEntry(**fields)], today=TODAY)  # type: ignore[arg-type]
        assert "\n" not in str(err.value)
        assert len(list_entries(j)) == 1


def test_csv_export_import_gives_the_same_episodes(tmp_path: Path) -> None:
    s = itbs_story().ok_runs(range(4, 20, 2), 4.0).pain(21, site="front", during=4)
    with open_journal(tmp_path / "a.sqlite") as j:
        add_entries(j, s.entries, today=TODAY)
        text = export_csv(list_entries(j))
    path = tmp_path / "e.csv"
    path.write_text(text, encoding="utf-8")
    with open_journal(tmp_path / "b.sqlite") as j:
        add_entries(j, read_csv(path, today=TODAY), today=TODAY)
        again = list_entries(j)
        add_entries(j, read_csv(path, today=TODAY), today=TODAY)  # idempotent
        assert len(list_entries(j)) == len(again)
    before = [e.summary_key() for e in derive_episodes(s.entries, s.runs, as_of=date(2026, 3, 1))]
    after = [e.summary_key() for e in derive_episodes(again, s.runs, as_of=date(2026, 3, 1))]
    assert before == after and len(before) == 2


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_episodes_never_depend_on_entry_order(rnd: random.Random) -> None:
    s = itbs_story().ok_runs(range(4, 30, 2), 4.0)
    s.run(31, 5.0).pain(31, during=6).pain(31, during=2, next_morning=4).pain(33, site="front")
    shuffled = list(s.entries)
    rnd.shuffle(shuffled)
    as_of = date(2026, 3, 1)
    a = [e.summary_key() for e in derive_episodes(s.entries, s.runs, as_of=as_of)]
    b = [e.summary_key() for e in derive_episodes(shuffled, s.runs, as_of=as_of)]
    assert a == b


def _writer(path: str, n: int, who: str) -> None:
    with open_journal(path) as j:
        for i in range(n):
            add_entry(j, SymptomEntry(who, "ok", date(2026, 1, 1 + i % 28)), today=TODAY)


def test_two_processes_writing_never_corrupt_the_store(tmp_path: Path) -> None:
    target = str(tmp_path / "j.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(target, 28, w)) for w in ("alex", "sam")]
    for p in procs:
        p.start()
    with open_journal(target, readonly=False) as reader:  # a reader meanwhile
        list_entries(reader)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with open_journal(target, readonly=True) as j:
        rows = list_entries(j)
        assert len(rows) == 56
        assert j.db.execute("pragma integrity_check").fetchone()[0] == "ok"


def _reader(path: str, n: int, out: Any) -> None:
    """What a cron report does: open the journal read-only, read, close; ``n`` times."""
    seen: list[int] = []
    errors: list[str] = []
    for _ in range(n):
        try:
            with open_journal(path, readonly=True) as j:
                seen.append(len(list_entries(j)))
        except Exception as exc:  # any failure is what the test reports
            errors.append(repr(exc))
    out.put((errors, seen))


def test_cron_reading_while_the_runner_logs(tmp_path: Path) -> None:
    """Two processes: one logs entry after entry, the other reads the journal read-only
    as a cron report would. The reader never fails and never sees entries disappear
    (each write is one transaction), and the store ends whole."""
    target = str(tmp_path / "j.sqlite")
    _writer(target, 1, "alex")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    writer = ctx.Process(target=_writer, args=(target, 120, "sam"))
    reader = ctx.Process(target=_reader, args=(target, 120, out))
    writer.start()
    reader.start()
    errors, seen = out.get(timeout=120)
    writer.join(60)
    reader.join(60)
    assert writer.exitcode == 0 and reader.exitcode == 0
    assert errors == []
    assert seen == sorted(seen) and seen[0] >= 1 and seen[-1] <= 29
    with open_journal(target, readonly=True) as j:
        assert len(list_entries(j)) == 29  # alex's 1, sam's 28 distinct days (others equal)
        assert j.db.execute("pragma integrity_check").fetchone()[0] == "ok"


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_flags_and_plan_never_depend_on_entry_order(rnd: random.Random) -> None:
    """The property at the level a report shows: the rtr-* flags and the return plan of
    the same entries made in any order (and with any ids) are the same."""
    from kneeflags.plan.return_to_run import return_plan
    from kneeflags.rules.return_to_run import return_flags

    s = itbs_story().ok_runs(range(4, 30, 2), 4.0).run(31, 6.0)
    s.pain(31, during=3, next_morning=5).pain(31, during=6).pain(32, site="front", during=2)
    s.run(33, 6.5).ok(34).check(35, "PFPS", ("calf-raises",))
    shuffled = list(s.entries)
    rnd.shuffle(shuffled)
    as_of = date(2026, 2, 15)

    def seen(entries: list[SymptomEntry]) -> tuple[object, ...]:
        eps = derive_episodes(entries, s.runs, as_of=as_of)
        flags = [(f.rule, f.severity, f.activity, f.evidence) for f in return_flags(eps)]
        plans = [return_plan(e, date(2026, 2, 16)) for e in eps if e.is_open]
        return tuple(flags), tuple(plans)

    assert seen(s.entries) == seen(shuffled)
    assert seen(s.entries)[0]  # the story does break the protocol
