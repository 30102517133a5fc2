"""Tenants in the store: quota use per day and month, usage for invoicing."""

from .interface import TenantStore
from .model import QuotaRefusal, UsageRow
from .rules import day_key, month_key, over_quota, periods

__all__ = [
    "QuotaRefusal",
    "TenantStore",
    "UsageRow",
    "day_key",
    "month_key",
    "over_quota",
    "periods",
]
