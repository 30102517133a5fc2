"""The demo run: a gateway with the built-in simulator, a debt-notice campaign, consumers texting.

Timing is the simulator's: a reply's round trip is from the moment the
simulator sent the consumer's MO to the moment it received the reply's
submit_sm, on one clock, which is what the consumer sees.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import trio

from ..app import Gateway, Started, stop_on_signals
from ..campaigns import CampaignKind, QuietHours, Recipient
from ..campaigns.service import CampaignBackend, CampaignRequest, create_campaign
from ..protocol import decode_text
from ..settings import Settings, load_settings
from ..store import FINAL_STATES, BillingStore, import_billing_data, open_store
from .utility import SENDER, SHORT_CODE, Consumer, consumer, utility_document

__all__ = ["DemoOptions", "DemoProgress", "DemoReport", "run_demo"]

NOTICE_TEMPLATE = (
    "Account {account}: {debt} EUR is overdue. Please pay to avoid penalties. "
    "Text BAL to " + SHORT_CODE + " for your balance."
)
_NOTICE_START = "Account "


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How big the demo is. ``readings`` consumers text a meter reading and
    ``balances`` debtors ask for their balance, ``mo_rate`` messages a second."""

    consumers: int = 3000
    readings: int = 300
    balances: int = 100
    mo_rate: float = 100.0
    notice_rate: float = 1000.0
    store_url: str | None = None
    http: bool = True
    timeout: float = 300.0
    #: After the report, keep the gateway (HTTP API, /metrics) up until SIGINT or SIGTERM.
    keep_running: bool = False

    def __post_init__(self) -> None:
        if self.consumers < 1:
            raise ValueError(f"consumers must be at least 1, got {self.consumers}")
        if not 0 <= self.readings <= self.consumers:
            raise ValueError(f"readings must be within 0..consumers, got {self.readings}")
        debtors = len(range(0, self.consumers, 3))
        if not 0 <= self.balances <= debtors:
            raise ValueError(f"balances must be within 0..{debtors} (the debtors)")
        if self.mo_rate <= 0 or self.notice_rate <= 0:
            raise ValueError("mo_rate and notice_rate must be positive")


@dataclass(frozen=True, slots=True)
class DemoProgress:
    """A live reading of the demo, for a progress display."""

    notices: int
    notices_final: int
    notices_delivered: int
    mo_sent: int
    mo_total: int
    replies: int


@dataclass
class DemoReport:
    """What the demo did and measured."""

    store: str
    consumers: int
    notices: int
    notices_by_state: dict[str, int]
    notice_seconds: float
    mo_sent: int
    replies: int
    round_trip_ms: dict[str, float] = field(default_factory=dict)
    examples: list[tuple[str, str]] = field(default_factory=list)
    http_port: int | None = None
    elapsed_seconds: float = 0.0
    #: The campaign's rate setting, notices per second.
    notice_rate_setting: float = 0.0
    #: From the first debt notice's submit_sm to the last one's, at the simulator.
    notice_submit_seconds: float | None = None
    notices_submitted: int = 0
    #: Where the gateway's HTTP API and /metrics answer, while it is kept running.
    http_url: str | None = None

    @property
    def notice_submit_rate(self) -> float | None:
        """Notices submitted per second, between the first submit and the last."""
        if not self.notice_submit_seconds or self.notices_submitted < 2:
            return None
        return (self.notices_submitted - 1) / self.notice_submit_seconds

    @property
    def lost(self) -> int:
        return self.mo_sent - self.replies

    def to_dict(self) -> dict[str, Any]:
        rate = self.notice_submit_rate
        return {
            "store": self.store,
            "consumers": self.consumers,
            "notices": self.notices,
            "notices_by_state": self.notices_by_state,
            "notices_per_second": round(self.notices / self.notice_seconds, 1)
            if self.notice_seconds
            else None,
            "notice_rate_setting": self.notice_rate_setting,
            "notices_submitted_per_second": round(rate, 1) if rate is not None else None,
            "mo_sent": self.mo_sent,
            "replies": self.replies,
            "unanswered": self.lost,
            "round_trip_ms": self.round_trip_ms,
            "examples": [{"sms": sms, "reply": reply} for sms, reply in self.examples],
            "elapsed_seconds": round(self.elapsed_seconds, 1),
            "http_url": self.http_url,
        }


def demo_settings(options: DemoOptions, store_url: str) -> Settings:
    """The embedded default, with the demo's store, scenario, billing on and free ports."""
    base = load_settings(None, {})
    return base.model_copy(
        update={
            "store": base.store.model_copy(update={"url": store_url}),
            "simulator": base.simulator.model_copy(
                update={"enabled": True, "port": 0, "scenario": _scenario_path()}
            ),
            "http": base.http.model_copy(
                update={"enabled": options.http, "port": 0, "metrics_public": True}
            ),
            "billing": base.billing.model_copy(update={"enabled": True}),
        }
    )


def _scenario_path() -> str:
    here = Path(__file__).resolve().parent
    for folder in (here.parent.parent / "config" / "scenarios", here / "scenarios"):
        candidate = folder / "demo.toml"
        if candidate.is_file():
            return str(candidate)
    return "healthy"


async def run_demo(
    options: DemoOptions,
    *,
    on_progress: Callable[[DemoProgress], None] | None = None,
    on_started: Callable[[Started], None] | None = None,
    on_report: Callable[[DemoReport], None] | None = None,
) -> DemoReport:
    """Load the demo utility, start the gateway, run the campaign and the consumers; report.

    ``on_report`` is told the report once it is measured: after the gateway
    stopped, or, with ``options.keep_running``, while it keeps running until
    SIGINT or SIGTERM stops it.
    """
    with tempfile.TemporaryDirectory(prefix="smpp-engine-demo-") as folder:
        url = options.store_url or f"sqlite:///{Path(folder) / 'demo.db'}"
        return await _run(options, url, on_progress, on_started, on_report)


async def _run(
    options: DemoOptions,
    url: str,
    on_progress: Callable[[DemoProgress], None] | None,
    on_started: Callable[[Started], None] | None,
    on_report: Callable[[DemoReport], None] | None,
) -> DemoReport:
    started_at = time.monotonic()
    today = datetime.now(UTC).date()
    consumers = [consumer(index) for index in range(options.consumers)]
    async with open_store(url) as store:
        loaded = await import_billing_data(
            cast(BillingStore, store), utility_document(options.consumers, today=today)
        )
        if not loaded.ok:
            raise ValueError(f"the demo utility did not load: {loaded.problems[:3]}")

    gateway = Gateway(demo_settings(options, url))
    async with trio.open_nursery() as nursery:
        started: Started = await nursery.start(gateway.run)
        if on_started is not None:
            on_started(started)
        store = cast(CampaignBackend, gateway.store)
        simulator = gateway.simulator
        debtors = [c for c in consumers if c.in_debt]
        campaign = await create_campaign(
            store, _campaign_request(debtors, options), now=datetime.now(UTC)
        )
        assert campaign.campaign is not None
        campaign_id = campaign.campaign.campaign_id
        texts = _consumer_texts(consumers, debtors, options)
        nursery.start_soon(_text_in, simulator, texts, options.mo_rate)

        deadline = trio.current_time() + options.timeout
        notice_done_at: float | None = None
        notice_started = trio.current_time()
        while trio.current_time() < deadline:
            stats = await store.campaign_stats(campaign_id)
            replies = _count_replies(simulator)
            final = stats.delivered + stats.failed + stats.cancelled
            if on_progress is not None:
                on_progress(
                    DemoProgress(
                        notices=stats.total,
                        notices_final=final,
                        notices_delivered=stats.delivered,
                        mo_sent=simulator.mo_log.injected,
                        mo_total=len(texts),
                        replies=replies,
                    )
                )
            if notice_done_at is None and final >= stats.total:
                notice_done_at = trio.current_time()
            if notice_done_at is not None and replies >= len(texts):
                break
            await trio.sleep(0.25)
        stats = await store.campaign_stats(campaign_id)
        trips, examples = _round_trips(simulator)
        submits = _notice_submits(simulator)
        end = notice_done_at if notice_done_at is not None else trio.current_time()
        report = DemoReport(
            store=started.store,
            consumers=options.consumers,
            notices=stats.total,
            notices_by_state={s.value: n for s, n in stats.by_state.items() if s in FINAL_STATES},
            notice_seconds=end - notice_started,
            mo_sent=len(texts),
            replies=len(trips),
            round_trip_ms=_percentiles(trips),
            examples=examples,
            http_port=started.http_port,
            elapsed_seconds=time.monotonic() - started_at,
            notice_rate_setting=options.notice_rate,
            notice_submit_seconds=submits[-1] - submits[0] if submits else None,
            notices_submitted=len(submits),
        )
        if options.keep_running and started.http_port is not None:
            report.http_url = f"http://127.0.0.1:{started.http_port}"
            # Up until Ctrl-C (or SIGTERM), which stops it as it stops `run`; listened
            # for before the report says so.
            async with trio.open_nursery() as waiting:
                await waiting.start(stop_on_signals, gateway)
                if on_report is not None:
                    on_report(report)
                await gateway.wait_stopped()
                waiting.cancel_scope.cancel()
        else:
            gateway.stop()
            await gateway.wait_stopped()
            if on_report is not None:
                on_report(report)
    return report


def _campaign_request(debtors: list[Consumer], options: DemoOptions) -> CampaignRequest:
    recipients = tuple(
        Recipient(c.msisdn, {"account": c.account, "debt": f"{c.debt:.2f}"}, line=n)
        for n, c in enumerate(debtors, start=1)
    )
    return CampaignRequest(
        name=f"demo-debt-notices-{int(time.time())}",
        smsc="default",
        sender=SENDER,
        template=NOTICE_TEMPLATE,
        rate=options.notice_rate,
        kind=CampaignKind.BULK,
        # A demo runs whenever it is started; real campaigns keep quiet hours.
        quiet_hours=QuietHours(weekday=None, weekend=None),
        recipients=recipients,
    )


def _consumer_texts(
    consumers: list[Consumer], debtors: list[Consumer], options: DemoOptions
) -> list[tuple[str, str]]:
    """(MSISDN, text) in sending order: readings and balance requests interleaved."""
    readers = consumers[: options.readings]
    askers = debtors[-options.balances :] if options.balances else []
    texts = [(c.msisdn, c.reading_text()) for c in readers]
    step = max(1, len(texts) // max(1, len(askers)))
    for n, c in enumerate(askers):
        texts.insert(min(len(texts), n * (step + 1)), (c.msisdn, "BAL"))
    return texts


async def _text_in(simulator: Any, texts: list[tuple[str, str]], rate: float) -> None:
    while not simulator.stats()["binds"]:
        await trio.sleep(0.01)
    first = trio.current_time()
    for n, (msisdn, text) in enumerate(texts):
        await trio.sleep_until(first + n / rate)
        simulator.inject_mo(source=msisdn, destination=SHORT_CODE, text=text)


def _reply_texts(simulator: Any) -> dict[str, list[tuple[float, str]]]:
    """Messages the SMSC received that are not debt notices, by destination."""
    found: dict[str, list[tuple[float, str]]] = {}
    for record in simulator.messages():
        pdu = record.pdu
        text = decode_text(pdu.short_message, pdu.data_coding)
        if text.startswith(_NOTICE_START):
            continue
        found.setdefault(record.destination, []).append((record.submitted_at, text))
    return found


def _notice_submits(simulator: Any) -> list[float]:
    """When each debt notice's submit_sm reached the simulator, in order."""
    return sorted(
        record.submitted_at
        for record in simulator.messages()
        if decode_text(record.pdu.short_message, record.pdu.data_coding).startswith(_NOTICE_START)
    )


def _count_replies(simulator: Any) -> int:
    return sum(len(v) for v in _reply_texts(simulator).values())


def _round_trips(simulator: Any) -> tuple[list[float], list[tuple[str, str]]]:
    replies = _reply_texts(simulator)
    trips: list[float] = []
    examples: list[tuple[str, str]] = []
    seen_kinds: set[bool] = set()
    for entry in simulator.mo_log.entries():
        if entry.sent_at is None:
            continue
        answer = next((r for r in replies.get(entry.source, []) if r[0] >= entry.sent_at), None)
        if answer is None:
            continue
        trips.append(answer[0] - entry.sent_at)
        kind = entry.text == "BAL"
        if kind not in seen_kinds or len(examples) < 3:
            seen_kinds.add(kind)
            if len(examples) < 4:
                examples.append((entry.text, answer[1]))
    return trips, examples


def _percentiles(trips: list[float]) -> dict[str, float]:
    if not trips:
        return {}
    ms = sorted(1000 * t for t in trips)
    return {
        "p50": round(statistics.median(ms), 1),
        "p99": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 1),
        "max": round(ms[-1], 1),
    }
