"""MO routing: rules by destination, keyword and sender send each MO message to the SMS
self-service or a tenant's endpoint; one no rule takes is kept, not refused for ever."""

from .inbox import MoInbox
from .rules import MoRule, choose, keyword_of

__all__ = ["MoInbox", "MoRule", "choose", "keyword_of"]
