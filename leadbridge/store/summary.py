"""What the state store holds, summarised for `leadbridge status`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from leadbridge.store.db import Store, current_revision, head_revision
from leadbridge.store.models import ErrorQueueItem, Link, Run


def summarize(store: Store) -> dict[str, Any]:
    """Schema revision, link and open-error counts, and the latest run of each pair."""
    with store.session() as session:
        links = session.exec(
            select(Link.pair, func.count()).group_by(Link.pair).order_by(Link.pair)
        ).all()
        open_errors = session.exec(
            select(ErrorQueueItem.pair, func.count())
            .where(ErrorQueueItem.status == "open")
            .group_by(ErrorQueueItem.pair)
            .order_by(ErrorQueueItem.pair)
        ).all()
        latest = session.exec(
            select(Run.pair, func.max(Run.id)).group_by(Run.pair).order_by(Run.pair)
        ).all()
        run_ids = [run_id for _pair, run_id in latest if run_id is not None]
        runs = session.exec(select(Run).where(col(Run.id).in_(run_ids))).all() if run_ids else []
    return {
        "database": store.engine.url.render_as_string(hide_password=True),
        "schema_revision": current_revision(store.engine),
        "schema_head": head_revision(store.engine),
        "links": {pair: count for pair, count in links},
        "open_errors": {pair: count for pair, count in open_errors},
        "last_runs": [
            {
                "id": run.id,
                "kind": run.kind,
                "pair": run.pair,
                "outcome": run.outcome,
                "started_at": run.started_at.isoformat(),
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "counts": run.counts,
            }
            for run in sorted(runs, key=lambda r: r.id or 0)
        ],
    }
