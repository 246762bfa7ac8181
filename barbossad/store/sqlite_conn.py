"""The SQLite connection under the store: pragmas, migrations, transactions, group commit.

Each store method is one transaction, committed before it returns, so a state change is durable
before anyone is told about it. Task updates, the engine's hot path, are group-committed. Awaited
ones adaptively: the first in a turn of the event loop commits at once; those issued after it in
the same turn share one transaction, committed on the next turn (each caller resumes only after
that COMMIT). Queued ones (`_queue`) do not hold their caller up: they share one commit at most
COMMIT_DELAY later (sooner if any other write, or commit_queued(), comes first), and a future
tells when it is done. The engine starts a process while the change that says so waits for its
commit, and publishes a change only once committed. Writes reach the database in the order they
were issued. synchronous=NORMAL in WAL mode survives a crash of the daemon (kill -9) without
losing a commit; a power cut may lose the last transactions but never corrupts the file. Queued
task changes not yet committed when the daemon dies are lost: nobody was told of them, and
recovery marks their run interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from barbossad.errors import StoreError
from barbossad.store.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

# At most this long between a queued write and its commit: one commit then serves every task
# change of a few milliseconds (the commit, not the statements, is most of a write's cost).
COMMIT_DELAY = 0.025


def to_stored(value: datetime | None) -> float | None:
    """A time as stored: seconds since the epoch."""
    return value.timestamp() if value is not None else None


def from_stored(value: float | None) -> datetime | None:
    """A stored time as an aware UTC datetime."""
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class SQLiteConnection:
    """Owns the connection; the store's table mixins use `_db`, `_tx` and `_grouped`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self._db.row_factory = sqlite3.Row
        # Group commit: queued writes and the futures their callers wait on (see _flush).
        self._queued: list[tuple[Callable[[sqlite3.Connection], None], asyncio.Future[None]]] = []
        # The commit of queued (not awaited) writes, due within COMMIT_DELAY.
        self._delayed: asyncio.TimerHandle | None = None
        # True from a grouped write's immediate commit until the end of that loop turn: later
        # writes in the turn are queued for one shared commit (see _grouped).
        self._turn_busy = False
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {version}, newer than this barbossad "
                f"understands ({SCHEMA_VERSION}); upgrade barbossad"
            )
        for index in range(version, SCHEMA_VERSION):
            log.info("migrating %s to schema version %d", self.path, index + 1)
            with self._tx() as db:
                for statement in _split(MIGRATIONS[index]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={index + 1}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self._queued:  # earlier writes first: the order of writes is the order of calls
            self._flush()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def _grouped(self, write: Callable[[sqlite3.Connection], None]) -> None:
        """Run write in a transaction and return once it is committed.

        The first write of a loop turn commits at once; later ones in the same turn are queued
        and share one transaction on the next turn (nothing waits when there is no load).
        """
        if not self._turn_busy:
            self._turn_busy = True
            asyncio.get_running_loop().call_soon(self._end_turn)
            with self._tx() as db:  # raises to this caller only
                write(db)
            return
        done = self._enqueue(write)  # committed by the _end_turn scheduled above
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            # The write is queued and will be committed: a caller cancelled now still finds
            # its change committed when it resumes (and may still report it).
            await done
            raise

    def _enqueue(self, write: Callable[[sqlite3.Connection], None]) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        self._queued.append((write, done))
        return done

    def _queue(self, write: Callable[[sqlite3.Connection], None]) -> asyncio.Future[None]:
        """Queue write for a shared commit within COMMIT_DELAY; its future tells the outcome.

        Any other write, and commit_queued(), commit it sooner.
        """
        done = self._enqueue(write)
        if self._delayed is None:
            self._delayed = asyncio.get_running_loop().call_later(COMMIT_DELAY, self.commit_queued)
        return done

    def commit_queued(self) -> None:
        """Commit the queued writes now (their callers are waiting for the outcome)."""
        if self._delayed is not None:
            self._delayed.cancel()
            self._delayed = None
        self._flush()

    def _end_turn(self) -> None:
        """Commit what was queued during the turn of an immediate commit."""
        self._turn_busy = False
        self._flush()

    def _flush(self) -> None:
        """Commit the queued writes in one transaction (one by one if that fails)."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for write, _ in queued:
                    write(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except Exception:
            if db.in_transaction:  # a failed COMMIT leaves it open
                db.execute("ROLLBACK")
            self._one_by_one(queued)
            return
        for _, done in queued:
            if not done.done():
                done.set_result(None)

    def _one_by_one(
        self, queued: list[tuple[Callable[[sqlite3.Connection], None], asyncio.Future[None]]]
    ) -> None:
        """Each write in its own transaction, so that only the callers of failing ones fail."""
        for write, done in queued:
            try:
                with self._tx() as db:
                    write(db)
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result(None)

    async def close(self) -> None:
        """Commit queued writes, checkpoint and close."""
        self.commit_queued()
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()

    def integrity_check(self) -> str:
        """PRAGMA integrity_check's verdict ('ok' when healthy)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _split(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]
