"""The editions every process reads, cached and checked against the database's version.

The version is ``(count, max id)`` of ``policy_revision``: rows are only ever added, so a new load
changes it. The check is one indexed query, made at most every ``recheck_seconds``; so the web
process and the worker see an edition loaded by another process within that time, with no restart.
Until ``smeflow init`` has stored any revision (or before the database is migrated) the packaged
edition files are read directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from config.policy import Edition, load_editions, parse_edition_text
from services.db.models_round import PolicyRevision

Version = tuple[int, int]
_COLUMNS = "id, edition_code, revision, sha256, filename, source, loaded_at, loaded_by"


def edition_of(row: PolicyRevision) -> Edition:
    """The Edition a stored revision holds, with its revision number, row id and hash."""
    edition = parse_edition_text(row.source, row.filename)
    return replace(edition, revision=row.revision, revision_id=row.id, sha256=row.sha256)


class EditionCache:
    """Latest revision of every stored edition; a revision by id for cases that ran under it."""

    def __init__(self, engine: Callable[[], Engine], *, fallback_dir: Path | None, recheck_seconds: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._fallback_dir = fallback_dir
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._seen: Version | None = None
        self._checked_at = float("-inf")
        self._current: list[Edition] = []
        self._by_id: dict[int, Edition] = {}

    def invalidate(self) -> None:
        """Check the database on the next read (called after this process loaded an edition)."""
        with self._lock:
            self._checked_at = float("-inf")

    def current(self) -> list[Edition]:
        """The latest revision of each edition, ordered by start date."""
        with self._lock:
            now = self._monotonic()
            if now - self._checked_at >= self._recheck:
                self._refresh()
                self._checked_at = now
            return self._current

    def revision(self, revision_id: int) -> Edition:
        """The edition exactly as stored in revision ``revision_id``; KeyError if there is none."""
        with self._lock:
            if revision_id not in self._by_id:
                rows = self._read(f"SELECT {_COLUMNS} FROM policy_revision WHERE id = {int(revision_id)}")
                if not rows:
                    raise KeyError(f"no policy revision {revision_id}")
                self._by_id[revision_id] = edition_of(rows[0])
            return self._by_id[revision_id]

    def _read(self, sql: str) -> list[PolicyRevision]:
        """Rows read on a raw connection of their own: no ORM session, no transaction events (a SQLite
        session's BEGIN IMMEDIATE would wait for the caller's own open transaction)."""
        conn = self._engine().raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(sql)
            found = cur.fetchall()
            cur.close()
            conn.rollback()
        finally:
            conn.close()
        names = _COLUMNS.split(", ")
        return [PolicyRevision(**dict(zip(names, row, strict=True))) for row in found]

    def _version_of_db(self) -> Version | None:
        """``(count, max id)`` of the stored revisions; None before the table exists (not migrated)."""
        try:
            conn = self._engine().raw_connection()
        except (OperationalError, ProgrammingError):
            return None
        try:
            cur = conn.cursor()
            try:
                cur.execute("SELECT count(id), max(id) FROM policy_revision")
            except Exception as exc:  # a driver error: is it the missing table, or something to report?
                conn.rollback()
                if "policy_revision" in str(exc):
                    return None
                raise
            count, top = cur.fetchone() or (0, None)
            cur.close()
            conn.rollback()
        finally:
            conn.close()
        return int(count), int(top or 0)

    def _refresh(self) -> None:
        version = self._version_of_db()
        if version is not None and version == self._seen:
            return
        rows = self._read(f"SELECT {_COLUMNS} FROM policy_revision") if version else []
        latest: dict[str, PolicyRevision] = {}
        for row in rows:
            if row.edition_code not in latest or row.revision > latest[row.edition_code].revision:
                latest[row.edition_code] = row
        editions = []
        for row in latest.values():
            if row.id not in self._by_id:
                self._by_id[row.id] = edition_of(row)
            editions.append(self._by_id[row.id])
        if not editions:  # nothing stored yet (before `smeflow init`): the packaged files
            editions = load_editions(self._fallback_dir)
        self._current = sorted(editions, key=lambda e: (e.in_force_from, e.code))
        self._seen = version
