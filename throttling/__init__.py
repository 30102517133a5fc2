"""Rate limiting primitives with an injected clock."""

from .controller import RateController, TokenBucketController, Unlimited
from .token_bucket import TokenBucket

__all__ = ["RateController", "TokenBucket", "TokenBucketController", "Unlimited"]
