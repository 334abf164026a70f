"""Stored APScheduler jobs name collector's job functions where they now live (issue 12).

``collector.jobs`` moved to ``collector.monitor.jobs``. APScheduler 3 keeps each job pickled in
``apscheduler_jobs.job_state`` with a text reference to its function (``module:name``) and deletes a
job whose function it cannot import, so every schedule made before the move would vanish the first
time a scheduler loaded it. This rewrites those references; each job's trigger, next run time and
arguments stay as they were.

The table is created by APScheduler's job store the first time a scheduler starts: when it does not
exist there is nothing to rewrite. Unpickling a job's state needs APScheduler importable (its trigger
classes); the migration names no collector module. A state that cannot be unpickled is left as it is
(APScheduler could not load it either) and logged.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import logging
import pickle

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TABLE = "apscheduler_jobs"
OLD_MODULE = "collector.jobs:"
NEW_MODULE = "collector.monitor.jobs:"


def rewrite_job_refs(bind: sa.Connection, old: str, new: str) -> int:
    """Point every stored job whose function reference starts with ``old`` at ``new`` instead;
    return how many jobs were rewritten."""
    if not sa.inspect(bind).has_table(TABLE):
        return 0
    jobs = sa.table(TABLE, sa.column("id", sa.Unicode), sa.column("job_state", sa.LargeBinary))
    changed = 0
    for job_id, blob in bind.execute(sa.select(jobs.c.id, jobs.c.job_state)).all():
        try:
            state = pickle.loads(blob)
        except Exception as exc:  # any unpickling error: a job nobody can load, leave it be
            log.warning("apscheduler job %r: cannot read its state (%s: %s); left as it is",
                        job_id, type(exc).__name__, exc)
            continue
        ref = state.get("func") if isinstance(state, dict) else None
        if not isinstance(ref, str) or not ref.startswith(old):
            continue
        state["func"] = new + ref[len(old):]
        bind.execute(sa.update(jobs).where(jobs.c.id == job_id)
                     .values(job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))
        changed += 1
    return changed


def upgrade() -> None:
    """``collector.jobs:NAME`` -> ``collector.monitor.jobs:NAME`` in every stored job."""
    rewrite_job_refs(op.get_bind(), OLD_MODULE, NEW_MODULE)


def downgrade() -> None:
    """Back to ``collector.jobs:NAME`` (for a collector from before the move)."""
    rewrite_job_refs(op.get_bind(), NEW_MODULE, OLD_MODULE)
