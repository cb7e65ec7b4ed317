"""The athlete's journal: one local SQLite store (managed with ``sqlite-utils``) per user.

It holds what the activity files cannot say: corrections of the record (a sport set by
hand, an excluded activity, two recordings declared the same outing or different ones),
the symptom log and the episodes derived from it. One store can hold many athletes, so a
coach keeps one file for the whole squad; every row names its athlete.

Why a store of its own and not files next to the activities: inputs are never modified,
and corrections must survive re-exports and never invalidate the parse cache (they apply
after parsing).

Layout and versions. The store is shared by several features, each owning its tables and
its own schema version in the ``meta`` table (``schema.<component>``). A feature declares
its tables through :meth:`Journal.ensure_component`; a store whose component version is
newer than this code knows is refused, never rewritten (a newer kneeflags wrote it).

Concurrency. The file is in WAL mode, so a cron report reads while the runner logs; every
write is one ``BEGIN IMMEDIATE`` transaction (:meth:`Journal.transaction`), atomic and
serialised between processes. A writer that cannot get the lock within
:data:`LOCK_TIMEOUT_S` gets a one-line :class:`JournalError`, and nothing is written.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

JOURNAL_ENV = "KNEEFLAGS_JOURNAL"
"""Environment variable naming the journal file (``--journal`` wins over it)."""

LOCK_TIMEOUT_S = 10.0
"""How long a writer waits for another process's transaction before giving up."""

META_TABLE = "meta"


class JournalError(Exception):
    """The journal cannot be used as asked (unreadable, locked, newer, unknown id).

    The message is one line naming the file; the CLI turns it into exit code 2.
    """


def default_journal_path() -> Path:
    """``$KNEEFLAGS_JOURNAL``, else ``journal.sqlite`` in the user data directory."""
    env = os.environ.get(JOURNAL_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("kneeflags", appauthor=False) / "journal.sqlite"


def now_utc() -> str:
    """The entry time stamp stored with every row (ISO 8601, UTC, seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Journal:
    """An open journal. Use :func:`open_journal`; close it (or use ``with``) when done.

    ``db`` is the :class:`sqlite_utils.Database`, for feature modules; ``path`` is
    ``None`` for an absent journal opened read-only (it behaves as an empty store and no
    file is created just to read it).
    """

    def __init__(self, db: Any, path: Path | None, *, readonly: bool) -> None:
        self.db = db
        self.path = path
        self.readonly = readonly

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "(no journal)"

    # -- versions ----------------------------------------------------------------------

    def component_version(self, component: str) -> int:
        """The schema version of ``component`` in this store (0 when absent)."""
        if META_TABLE not in self.db.table_names():
            return 0
        rows = list(
            self.db.query(f"select value from {META_TABLE} where key = ?", [f"schema.{component}"])
        )
        return int(rows[0]["value"]) if rows else 0

    def ensure_component(
        self,
        component: str,
        version: int,
        tables: Mapping[str, tuple[Mapping[str, Any], str | tuple[str, ...]]],
    ) -> None:
        """Create ``component``'s tables if missing and record its version.

        ``tables`` maps a table name to ``(columns, pk)`` as sqlite-utils' ``create``
        takes them. A store holding a newer version of the component is refused with a
        :class:`JournalError`: it was written by a newer kneeflags and is left untouched.
        On a read-only or absent journal nothing is created.
        """
        have = self.component_version(component)
        if have > version:
            raise JournalError(
                f"{self.label}: written by a newer kneeflags ({component} schema {have}, "
                f"this version reads up to {version}); refusing to change it"
            )
        if have == version or self.readonly:
            return
        with self.transaction():
            for name, (columns, pk) in tables.items():
                if name not in self.db.table_names():
                    self.db[name].create(dict(columns), pk=pk)
            self.db[META_TABLE].upsert(
                {"key": f"schema.{component}", "value": str(version)}, pk="key"
            )

    # -- writes ------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """One atomic write: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        import sqlite3  # imported once a journal is open: a report without one never needs it

        if self.readonly:
            raise JournalError(f"{self.label}: opened read-only")
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise JournalError(_describe(self.label, exc)) from None
        try:
            yield self.db
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise JournalError(_describe(self.label, exc)) from None


def open_journal(path: str | os.PathLike[str] | None = None, *, readonly: bool = False) -> Journal:
    """Open (and, for writing, create) the journal at ``path`` or the default location.

    Read-only opening of a journal that does not exist gives an empty journal and creates
    nothing: reports read the journal by default, and a runner who never logged anything
    must not find a new file. Errors are :class:`JournalError` with a one-line message.
    """
    import sqlite3

    import sqlite_utils

    target = Path(path).expanduser() if path is not None else default_journal_path()
    if target.exists() and not target.is_file():
        raise JournalError(f"{target}: not a regular file")
    if readonly and not target.exists():
        return Journal(sqlite_utils.Database(memory=True), None, readonly=True)
    try:
        if readonly:
            conn = sqlite3.connect(
                f"{target.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=LOCK_TIMEOUT_S,
                isolation_level=None,
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(target), timeout=LOCK_TIMEOUT_S, isolation_level=None)
        conn.execute(f"pragma busy_timeout = {int(LOCK_TIMEOUT_S * 1000)}")
        conn.execute("select count(*) from sqlite_master").fetchone()
        if not readonly:
            conn.execute("pragma journal_mode = wal")
    except (sqlite3.Error, OSError) as exc:
        raise JournalError(_describe(str(target), exc)) from None
    db = sqlite_utils.Database(conn)
    journal = Journal(db, target, readonly=readonly)
    if not readonly and META_TABLE not in db.table_names():
        with journal.transaction():
            if META_TABLE not in db.table_names():
                db[META_TABLE].create({"key": str, "value": str}, pk="key")
    return journal


def _describe(where: str, exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "locked" in text or "busy" in text:
        return f"{where}: the journal is locked by another kneeflags process; try again"
    if "not a database" in text or "malformed" in text:
        return f"{where}: not a kneeflags journal (not an SQLite database, or damaged)"
    return f"{where}: cannot open the journal: {text}"
