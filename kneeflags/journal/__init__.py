"""The athlete's journal stage: what runners and coaches tell kneeflags beyond the files.

* :mod:`kneeflags.journal.store`: the SQLite store itself (location, versions, atomic
  transactions, locking).

Feature modules (corrections of the record, the symptom log and its episodes) own their
tables in the store and read or write them through :class:`~kneeflags.journal.store.Journal`.
"""

from __future__ import annotations

from kneeflags.journal.store import (
    Journal,
    JournalError,
    default_journal_path,
    open_journal,
)

__all__ = ["Journal", "JournalError", "default_journal_path", "open_journal"]
