"""Job files: read by id (never a path), and pruned when finished long ago."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from collector.errors import NotFoundError
from collector.server.jobs import KEEP_DAYS, prune_jobs, read_job
from tests.conftest import make_config


def test_old_finished_jobs_are_pruned_running_and_recent_ones_kept(home: Path) -> None:
    config = make_config(home)
    jobs = home / "jobs"
    jobs.mkdir()
    old = time.time() - (KEEP_DAYS + 1) * 86400
    for job_id, state, when in (("aa01", "done", old), ("aa02", "failed", old), ("aa03", "running", old),
                                ("aa04", "done", time.time())):
        path = jobs / f"{job_id}.json"
        path.write_text(json.dumps({"id": job_id, "state": state}))
        os.utime(path, (when, when))
    assert prune_jobs(config) == 2
    assert sorted(p.stem for p in jobs.glob("*.json")) == ["aa03", "aa04"]
    assert read_job(config, "aa04")["state"] == "done"
    for missing in ("aa01", "../collector", "", "AA04"):
        with pytest.raises(NotFoundError):
            read_job(config, missing)
