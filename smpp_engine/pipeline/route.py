"""One SMSC the pipeline sends to: its account, binds, limits and habits."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..esme import EsmeConfig
from ..protocol import DEFAULT_PROFILE, Concatenation, MessageIdPolicy, TextProfile
from .parts import DEFAULT_OPTIONS, SubmitOptions, check_flash_profile
from .retry import RetryPolicy
from .statuses import StatusClassifier

__all__ = ["SmscRoute"]


@dataclass(frozen=True, slots=True)
class SmscRoute:
    """Everything the pipeline needs to send the messages stored for ``name``.

    ``rate``: segments per second for the whole account, all binds together (the
    operator's limit); None for no limit beyond the window. ``claim_batch``: most
    messages claimed at once; fewer are claimed when the rate would not send them
    within half the lease. ``lease``: seconds a claim is held before another
    process may take the messages over (longer than the response timeout).
    ``receipt_timeout``: seconds after the last submit with no final receipt
    before the message is UNKNOWN. ``submit_options``: the receipts asked for,
    the validity sent and the most parts a message may have (see
    :class:`~.parts.SubmitOptions`). ``max_unsettled``: most parts sent whose
    outcome is not durable yet, the most a crash can make the SMSC receive twice
    (default: twice the windows of all binds, so the windows stay full while the
    previous outcomes are written). ``failover_after``: seconds with no bind up
    after which the route's messages whose route plan goes on move to their next
    route (see :mod:`smpp_engine.routing`).
    """

    name: str
    esme: EsmeConfig
    binds: int = 1
    rate: float | None = None
    burst: float | None = None
    id_policy: MessageIdPolicy = MessageIdPolicy.AS_IS
    text_profile: TextProfile = DEFAULT_PROFILE
    concatenation: Concatenation = Concatenation.UDH8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    statuses: StatusClassifier = field(default_factory=StatusClassifier)
    claim_batch: int = 512
    lease: float = 120.0
    receipt_timeout: float = 48 * 3600.0
    max_unsettled: int | None = None
    submit_options: SubmitOptions = DEFAULT_OPTIONS
    failover_after: float = 30.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("SmscRoute.name must not be empty")
        if self.binds < 1:
            raise ValueError(f"SmscRoute.binds must be at least 1, got {self.binds!r}")
        if self.rate is not None and not self.rate > 0:
            raise ValueError(f"SmscRoute.rate must be positive or None, got {self.rate!r}")
        if self.max_unsettled is not None and self.max_unsettled < 1:
            raise ValueError(
                f"SmscRoute.max_unsettled must be at least 1, got {self.max_unsettled!r}"
            )
        if self.claim_batch < 1:
            raise ValueError(f"SmscRoute.claim_batch must be at least 1, got {self.claim_batch!r}")
        if not self.lease > self.esme.response_timeout:
            raise ValueError(
                f"SmscRoute.lease ({self.lease!r} s) must be longer than the response timeout "
                f"({self.esme.response_timeout!r} s), or claims could expire in flight"
            )
        if not self.failover_after > 0:
            raise ValueError(
                f"SmscRoute.failover_after must be positive, got {self.failover_after!r}"
            )
        if not self.receipt_timeout > 0:
            raise ValueError(
                f"SmscRoute.receipt_timeout must be positive, got {self.receipt_timeout!r}"
            )
        if self.submit_options.flash:
            check_flash_profile(self.text_profile)

    def unsettled_limit(self) -> int:
        """``max_unsettled``, or its default from the windows."""
        if self.max_unsettled is not None:
            return self.max_unsettled
        return 2 * self.esme.window_size * self.binds

    def claim_size(self) -> int:
        """How many messages to claim at once: what the rate sends in half a lease."""
        if self.rate is None:
            return self.claim_batch
        return max(1, min(self.claim_batch, int(self.rate * self.lease / 2)))
