"""SQLite persistence of webhook deliveries (table `webhook_deliveries`), mixed into SQLiteStore.

Every delivery is a row, accepted or not. Replay protection rests on two partial unique indexes:
a hook accepts a delivery id once and a signed body (by its sha256) once. Rejected rows are not
unique, so a forged request cannot use up a genuine delivery's id; they are pruned after a while,
accepted rows are kept (they are what makes a captured request useless forever).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from barbossad.store.base import DeliveryOutcome, WebhookDelivery

_COLUMNS = "hook, delivery_id, digest, received_at, outcome, status, detail, remote, run_id"


class WebhookDeliveryTable:
    """Webhook delivery methods of the SQLite store (needs the store's `_db` and `_tx`)."""

    _db: sqlite3.Connection

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # provided by SQLiteStore

    async def claim_delivery(self, delivery: WebhookDelivery) -> int | None:
        """Insert an accepted delivery; None if its id or digest was already accepted (a replay)."""
        accepted = _row(delivery, DeliveryOutcome.ACCEPTED)
        try:
            with self._tx() as db:
                cur = db.execute(
                    f"INSERT INTO webhook_deliveries({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                    accepted,
                )
        except sqlite3.IntegrityError:
            return None
        return int(cur.lastrowid or 0)

    async def record_delivery(self, delivery: WebhookDelivery) -> int:
        """Insert a rejected delivery; returns its row id."""
        if delivery.outcome is DeliveryOutcome.ACCEPTED:
            raise ValueError("accepted deliveries are claimed (claim_delivery), not recorded")
        with self._tx() as db:
            cur = db.execute(
                f"INSERT INTO webhook_deliveries({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                _row(delivery, delivery.outcome),
            )
        return int(cur.lastrowid or 0)

    async def settle_delivery(
        self,
        row_id: int,
        *,
        outcome: DeliveryOutcome,
        status: int,
        run_id: int | None = None,
        detail: str = "",
    ) -> None:
        """Record how a claimed delivery ended (its run, or why no run started)."""
        with self._tx() as db:
            db.execute(
                "UPDATE webhook_deliveries SET outcome=?, status=?, run_id=?, detail=? WHERE id=?",
                (outcome.value, status, run_id, detail, row_id),
            )

    async def list_deliveries(self, hook: str = "", *, limit: int = 100) -> list[WebhookDelivery]:
        """The latest deliveries, newest first (of one hook, or of all)."""
        where, args = ("WHERE hook=?", [hook]) if hook else ("", [])
        rows = self._db.execute(
            f"SELECT id, {_COLUMNS} FROM webhook_deliveries {where} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return list(_deliveries(rows))

    async def prune_deliveries(self, before: datetime) -> int:
        """Delete rejected deliveries received before `before`; returns how many."""
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM webhook_deliveries WHERE outcome != ? AND received_at < ?",
                (DeliveryOutcome.ACCEPTED.value, before.timestamp()),
            )
        return int(cur.rowcount)


def _row(d: WebhookDelivery, outcome: DeliveryOutcome) -> tuple[object, ...]:
    return (
        d.hook,
        d.delivery_id,
        d.digest,
        d.received_at.timestamp(),
        outcome.value,
        d.status,
        d.detail,
        d.remote,
        d.run_id,
    )


def _deliveries(rows: list[sqlite3.Row]) -> Iterator[WebhookDelivery]:
    for r in rows:
        yield WebhookDelivery(
            id=int(r["id"]),
            hook=r["hook"],
            delivery_id=r["delivery_id"],
            digest=r["digest"],
            received_at=datetime.fromtimestamp(r["received_at"], UTC),
            outcome=DeliveryOutcome(r["outcome"]),
            status=int(r["status"]),
            detail=r["detail"],
            remote=r["remote"],
            run_id=r["run_id"],
        )
