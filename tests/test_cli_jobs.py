"""``smpp-engine jobs``: the scheduled jobs as the store keeps them, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

from smpp_engine.store import JobStore, open_store

from .test_cli import run

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


async def test_jobs_lists_each_job_with_its_last_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    async with open_store(url) as store:
        jobs = cast(JobStore, store)
        await jobs.schedule_job("close-period", due=T0, now=T0)
        claim = await jobs.claim_job("close-period", owner="gw-1", now=T0 + 1, lease=60)
        assert claim is not None
        await jobs.finish_job(
            claim, now=T0 + 2, next_due=T0 + 86400, outcome="ok", detail="2026-12: 4 account(s)"
        )
    listed = run("jobs", "--store", url, "--json")
    assert listed.returncode == 0, listed.stderr
    (job,) = json.loads(listed.stdout)["jobs"]
    assert job["name"] == "close-period"
    assert job["next_due"] == "2027-01-16T08:00:00+00:00"
    assert job["last_run"]["outcome"] == "ok"
    assert job["last_run"]["detail"] == "2026-12: 4 account(s)"
    table = run("jobs", "--store", url)
    assert table.returncode == 0 and "close-period" in table.stdout and "ok" in table.stdout


def test_jobs_on_a_store_with_none_says_so(tmp_path: Path) -> None:
    shown = run("jobs", "--store", f"sqlite:///{tmp_path / 'new.db'}")
    assert shown.returncode == 0
    assert "no scheduled jobs yet" in shown.stdout


async def test_notices_jobs_is_the_same_listing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    async with open_store(url) as store:
        jobs = cast(JobStore, store)
        await jobs.schedule_job("notices", due=T0, now=T0)
        await jobs.schedule_job("close-period", due=T0 + 60, now=T0)
    both = run("jobs", "--store", url, "--json"), run("notices", "jobs", "--store", url, "--json")
    assert [shown.returncode for shown in both] == [0, 0], [shown.stderr for shown in both]
    assert both[0].stdout == both[1].stdout
    assert [job["name"] for job in json.loads(both[1].stdout)["jobs"]] == [
        "close-period",
        "notices",
    ]
    helped = run("notices", "jobs", "--help")
    assert helped.returncode == 0 and "smpp-engine jobs" in helped.stdout
    listed = run("notices", "--help")
    assert "jobs" in listed.stdout
