"""Scheduled jobs of the gateway: the utility's work that runs by itself.

- :mod:`.schedule`: when a job is due (daily or monthly, local wall time);
- :mod:`.runner`: :class:`JobRunner`, one process at a time runs each due job;
- :mod:`.billing_jobs`: closing the billing period each month, the day's notices;
- :mod:`.retention_job`: purging finished messages past their age, every day.
"""

from .billing_jobs import CLOSE_PERIOD, NOTICES, close_period_job, notices_job
from .retention_job import RETENTION, purge_finished, retention_job
from .runner import Job, JobRunner, JobWork
from .schedule import Daily, Monthly, Schedule, parse_time_of_day, ticks_between

__all__ = [
    "CLOSE_PERIOD",
    "NOTICES",
    "RETENTION",
    "Daily",
    "Job",
    "JobRunner",
    "JobWork",
    "Monthly",
    "Schedule",
    "close_period_job",
    "notices_job",
    "parse_time_of_day",
    "purge_finished",
    "retention_job",
    "ticks_between",
]
