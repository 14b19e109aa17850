"""Counts the operator's metrics need (``GET /metrics``): read-only aggregate queries, no rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ovnet.model.schema import PORT_STATUS, Outbox, utcnow


def ports_by_status(session: Session) -> dict[str, int]:
    """{status: number of ports} over every project, e.g. {"ACTIVE": 3, "DOWN": 5}, by the status
    the API shows (schema.port_status)."""
    rows = session.execute(select(PORT_STATUS, func.count()).group_by(PORT_STATUS))
    return {status or "": count for status, count in rows}


def outbox_stats(session: Session, now: dt.datetime | None = None) -> tuple[int, float]:
    """(pending outbox entries, age in seconds of the oldest one; 0.0 when empty). ``now`` is a
    naive UTC datetime (default: the current time), as the outbox stores it."""
    count, oldest = session.execute(select(func.count(), func.min(Outbox.created_at))).one()
    if not count or oldest is None:
        return 0, 0.0
    return count, max(0.0, ((now or utcnow()) - oldest).total_seconds())
