"""Kept MO messages: routed to a tenant, or taken by no route."""

from .interface import MoStore
from .model import KeptMo, MoRoute, NewMo

__all__ = ["KeptMo", "MoRoute", "MoStore", "NewMo"]
