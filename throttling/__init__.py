"""Rate limiting primitives with an injected clock, and the delivery priority lanes.

Nothing here blocks, sleeps or reads a clock: every call is told ``now`` (seconds,
any monotonic origin) and answers how long to wait.
"""

from .account import AccountBind, AccountLimiter
from .adaptive import AdaptiveController, AdaptiveState
from .congestion import CongestionBand, congestion_band
from .controller import CongestionAware, RateController, TokenBucketController, Unlimited
from .gcra import GCRA
from .limiter import Limiter
from .priority import Priority, PriorityLanes
from .token_bucket import TokenBucket

__all__ = [
    "GCRA",
    "AccountBind",
    "AccountLimiter",
    "AdaptiveController",
    "AdaptiveState",
    "CongestionAware",
    "CongestionBand",
    "Limiter",
    "Priority",
    "PriorityLanes",
    "RateController",
    "TokenBucket",
    "TokenBucketController",
    "Unlimited",
    "congestion_band",
]
