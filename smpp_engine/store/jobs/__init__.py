"""Scheduled jobs and their runs: the store's side of :mod:`smpp_engine.jobs`."""

from .interface import JobStore
from .model import JobClaim, JobRun, JobView

__all__ = ["JobClaim", "JobRun", "JobStore", "JobView"]
