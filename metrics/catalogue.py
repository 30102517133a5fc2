"""Every Prometheus metric of the engine, defined once.

The ESME client and the SMSC simulator share these, told apart by the ``side``
label (``esme`` or ``simulator``). ``bind`` names one connection (for the ESME
its configured name, for the simulator ``system_id``).

Hot paths must not call ``.labels(...)`` per PDU (a dict lookup under a lock
plus label validation, about a microsecond): keep the child for a label set and
call ``inc()`` on it, or add counts per batch with ``inc(n)``; :func:`child`
caches children for that.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

#: The two values of smpp_pdus' ``direction`` label, for the ESME and the simulator alike.
SENT = "sent"
RECEIVED = "received"

PDUS = Counter(
    "smpp_pdus",
    "PDUs sent and received, by command and command_status.",
    ["side", "direction", "command", "status"],
)
IN_FLIGHT = Gauge(
    "smpp_in_flight",
    "Requests sent and not yet answered, per bind.",
    ["side", "bind"],
)
SUBMIT_LATENCY = Histogram(
    "smpp_submit_latency_seconds",
    "Time from a submit_sm written to its submit_sm_resp read.",
    ["side"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30),
)
BIND_STATE = Gauge(
    "smpp_bind_state",
    "1 for the state each bind is in (OPEN, BOUND_TX, BOUND_RX, BOUND_TRX, UNBOUND, CLOSED).",
    ["side", "bind", "state"],
)
BINDS = Gauge(
    "smpp_binds", "Bound sessions now (side server: clients bound to the gateway).", ["side"]
)
RECONNECTS = Counter(
    "smpp_reconnects",
    "Reconnect attempts of a bind, by why the previous link ended.",
    ["bind", "reason"],
)
BIND_FAILURES = Counter(
    "smpp_bind_failures",
    "Bind attempts refused by the SMSC (or by the gateway's server face, side server), "
    "by command_status (a wrong password shows here).",
    ["side", "bind", "status"],
)
THROTTLE_EVENTS = Counter(
    "smpp_throttle_events",
    "ESME_RTHROTTLED / ESME_RMSGQFUL answers (sent by the simulator or the server face, "
    "received by the ESME).",
    ["side", "bind", "status"],
)
SUBMIT_OUTCOMES = Counter(
    "smpp_submit_outcomes",
    "Outcomes of submits: accepted, rejected (error status) or unknown (no answer).",
    ["side", "outcome"],
)
RECEIPTS = Counter(
    "smpp_receipts",
    "Delivery receipts sent (simulator; server face, once answered) or received (ESME), "
    "by final state.",
    ["side", "state"],
)
MO_MESSAGES = Counter(
    "smpp_mo_messages",
    "Mobile-originated messages (not receipts) sent (simulator) or received (ESME).",
    ["side"],
)
SIMULATOR_SCENARIO = Gauge(
    "smpp_simulator_scenario",
    "1 for the scenario the simulator runs now.",
    ["scenario"],
)
PIPELINE_MESSAGES = Counter(
    "smpp_pipeline_messages",
    "What the delivery pipeline recorded per SMSC route: parts submitted, retried, failed "
    "(permanent), unknown (given up without an answer), and final receipts.",
    ["smsc", "outcome"],
)
PIPELINE_POSSIBLE_DUPLICATES = Counter(
    "smpp_pipeline_possible_duplicates",
    "Messages submitted again after an attempt that may have reached the SMSC "
    "(a lease that ran out in a crash, or a submit with no answer).",
    ["smsc"],
)
PIPELINE_POISON_MESSAGES = Counter(
    "smpp_pipeline_poison_messages",
    "Messages the gateway could not build, encode or submit (an unexpected fault on that "
    "message alone): each ended failed with its reason, and the route went on.",
    ["smsc", "stage"],
)
PIPELINE_QUARANTINED = Counter(
    "smpp_pipeline_quarantined_messages",
    "Messages kept aside instead of resent: in flight at too many unclean stops in a row.",
)
PIPELINE_ROUTE_RESTARTS = Counter(
    "smpp_pipeline_route_restarts",
    "Restarts of a route's task after an unexpected fault (the process went on).",
    ["smsc"],
)
PIPELINE_FAILOVERS = Counter(
    "smpp_pipeline_failovers",
    "Messages moved to the next route of their routing rule: their route had no bind up "
    "for its failover_after, or its SMSC answered a submit with a retry-elsewhere status.",
    ["from_smsc", "to_smsc"],
)
STORE_POISON_UPDATES = Counter(
    "smpp_store_poison_updates",
    "Updates the store refused on their own (not for being unavailable): set aside and "
    "logged so the rest of their batch is written.",
    ["store"],
)
RATE_LIMIT = Gauge(
    "smpp_rate_limit_segments_per_second",
    "The rate the route's controller allows now in this process (its share of the "
    "account's when processes share it; the adaptive controller cuts it on throttling "
    "and congestion); +Inf without a limit.",
    ["smsc"],
)
RATE_STATE = Gauge(
    "smpp_rate_controller_state",
    "1 for the state the route's adaptive controller is in (steady, backing_off, recovering).",
    ["smsc", "state"],
)
RATE_SHARE_HOLDERS = Gauge(
    "smpp_rate_share_holders",
    "Gateway processes sharing the SMSC account's rate, this one included (each sends "
    "at the limit divided by them); 0 while this process holds no share (no bind up).",
    ["smsc"],
)
STORE_WRITER_BACKLOG = Gauge(
    "smpp_store_writer_backlog",
    "Updates waiting in the batching writer for their transaction.",
    ["store"],
)
STORE_ERRORS = Counter(
    "smpp_store_errors",
    "Store operations that failed (the database unreachable or refusing), by operation.",
    ["store", "operation"],
)

WINDOW_SIZE = Gauge(
    "smpp_window_size",
    "Requests a bind may have in flight (its window); smpp_in_flight / this is window use.",
    ["side", "bind"],
)
QUEUE_MESSAGES = Gauge(
    "smpp_queue_messages",
    "Messages in the store per route and state (queued, held, submitting, submitted, ...), "
    "sampled periodically.",
    ["smsc", "state"],
)
BILLING_REQUESTS = Counter(
    "smpp_billing_requests",
    "Consumer SMS handled by the self-service, by result (reading, balance, help, stop, start, "
    "confirmation, rejected, parse_error, refused).",
    ["result"],
)
BILLING_ROUND_TRIP = Histogram(
    "smpp_billing_round_trip_seconds",
    "Time from a consumer's MO taken by the gateway to its reply queued durably.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BILLING_NOTICES_PLANNED = Counter(
    "smpp_billing_notices_planned",
    "Notices a notices run decided to send, by kind and reason (queued: at once; quiet_hours: "
    "when the consumer's quiet hours end).",
    ["kind", "reason"],
)
BILLING_NOTICES_QUEUED = Counter(
    "smpp_billing_notices_queued",
    "Notices a notices run queued as gateway messages, by kind (with those an interrupted run "
    "had stored).",
    ["kind"],
)
BILLING_NOTICES_SKIPPED = Counter(
    "smpp_billing_notices_skipped",
    "Notices a notices run did not send, by kind and reason (below_threshold, opted_out, "
    "cap_reached, already_warned, already_sent, closed_account, no_phone, not_reminder_day, "
    "reading_received).",
    ["kind", "reason"],
)
BILLING_NOTICES = Gauge(
    "smpp_billing_notices",
    "Notices queued in the last 30 days (and any stored since, not yet queued) by kind and the "
    "state of the message carrying each (queued, submitted, delivered, undeliverable, expired, "
    "...; unqueued: none yet), counted in the store after each notices run and every 5 minutes.",
    ["kind", "state"],
)
HTTP_REQUESTS = Counter(
    "smpp_http_requests",
    "HTTP API requests by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "smpp_http_request_duration_seconds",
    "HTTP API request handling time by route template.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HTTP_AUTH_FAILURES = Counter(
    "smpp_http_auth_failures",
    "HTTP API requests refused, by reason: 401 for a key missing or invalid, 403 for "
    "scope (a known key without the scope the operation needs).",
    ["reason"],
)
BILLING_WARNINGS = Gauge(
    "smpp_billing_warnings",
    "Disconnection warnings of the last 60 days by proof status at the last notices run: "
    "proven (delivered), awaiting, retry, unreached (every attempt undelivered: paper mail).",
    ["status"],
)
JOB_RUNS = Counter(
    "smpp_job_runs",
    "Runs of the gateway's scheduled jobs (closing a billing period...), by outcome.",
    ["job", "outcome"],
)
JOB_LAST_SUCCESS = Gauge(
    "smpp_job_last_success_timestamp_seconds",
    "When each scheduled job last ended well (epoch seconds).",
    ["job"],
)
RETENTION_PURGED = Counter(
    "smpp_retention_purged",
    "What retention purged: finished messages past [retention] finished_after_days (kind "
    "messages), their parts (segments) and their history events; counted by day first.",
    ["kind"],
)

CALLBACKS = Counter(
    "smpp_callbacks",
    "Callback posts by tenant and outcome: delivered (2xx), failed (retried later), dead "
    "(parked after [callbacks] retry_for), deferred (its host or tenant busy: not tried yet).",
    ["tenant", "outcome"],
)
CALLBACK_DURATION = Histogram(
    "smpp_callback_duration_seconds",
    "Time a callback post took, to its receiver's answer or its failure.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CALLBACK_OUTBOX = Gauge(
    "smpp_callback_outbox",
    "Events in the callback outbox by status: pending (retrying: pending and failed before), "
    "dead (parked), sampled periodically.",
    ["status"],
)
CALLBACK_OUTBOX_AGE = Gauge(
    "smpp_callback_outbox_age_seconds",
    "How long the oldest pending callback event has waited (0: none pending).",
)

M = TypeVar("M", bound=MetricWrapperBase)


@lru_cache(maxsize=65536)
def _child(metric: Any, labels: tuple[str, ...]) -> Any:
    return metric.labels(*labels)


def child(metric: M, *labels: str) -> M:
    """The labelled child of ``metric``, looked up once and cached."""
    result: M = _child(metric, labels)
    return result


def counter_adder(metric: Counter, *labels: str) -> Callable[[float], None]:
    """A bound ``inc`` for one label set: the cheapest way to count on a hot path."""
    inc: Callable[[float], None] = child(metric, *labels).inc
    return inc


def histogram_batch_observer(metric: Histogram, *labels: str) -> Callable[[Sequence[float]], None]:
    """A function that observes a batch of values into one labelled child of ``metric``.

    ``observe`` per value takes a lock per bucket and per sum, about 1.5 µs; a hot
    path that has many values at once (the submit latencies of one read) counts
    them per bucket first and adds each bucket and the sum once. The exposition is
    the same as observing each value. Where the client library's histogram does not
    look as expected (its internals changed), it falls back to ``observe`` per value.
    """
    histogram = child(metric, *labels)
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    total: Any = getattr(histogram, "_sum", None)
    if (
        not isinstance(bounds, list)
        or not isinstance(buckets, list)
        or len(bounds) != len(buckets)
        or not hasattr(total, "inc")
        or not all(hasattr(bucket, "inc") for bucket in buckets)
    ):
        observe = histogram.observe

        def observe_each(values: Sequence[float]) -> None:
            for value in values:
                observe(value)

        return observe_each

    # A value goes in the first bucket whose upper bound is >= it (the library's
    # rule): bisect_left on the bounds finds that index.
    bucket_incs = [bucket.inc for bucket in buckets]
    add_to_sum: Callable[[float], None] = total.inc
    count = len(bounds)

    def observe_batch(values: Sequence[float]) -> None:
        if not values:
            return
        if len(values) == 1:
            histogram.observe(values[0])
            return
        per_bucket = [0] * count
        for value in values:
            per_bucket[bisect_left(bounds, value)] += 1
        add_to_sum(sum(values))
        for index, n in enumerate(per_bucket):
            if n:
                bucket_incs[index](n)

    return observe_batch
