"""Retention: finished messages past their age are purged, their counts kept by day."""

from .interface import RetentionStore
from .rules import PURGEABLE_STATES, DayCount, PurgeBatch, day_of

__all__ = ["PURGEABLE_STATES", "DayCount", "PurgeBatch", "RetentionStore", "day_of"]
