"""Routes paused by an operator: the store's side of pausing a route in every process."""

from .interface import PauseStore
from .model import RoutePause

__all__ = ["PauseStore", "RoutePause"]
