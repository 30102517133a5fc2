"""Shares of an SMSC account's rate, one per gateway process: the store's side of
:mod:`smpp_engine.pipeline.rate_share`."""

from .interface import RateShareStore
from .model import RateShare

__all__ = ["RateShare", "RateShareStore"]
