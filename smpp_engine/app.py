"""The gateway service: everything the settings ask for, in one trio nursery.

:class:`Gateway` opens the store, starts the built-in simulator when it is
enabled, the delivery pipeline with one route per ``[[smsc]]``, the SMS
self-service and the utility's scheduled jobs when billing is enabled, the
queue-depth sampler and the HTTP API.
:meth:`Gateway.stop` shuts it down gracefully: the routes send nothing new, wait
for the answers in flight and unbind, the writer's last batch is written, and
only then is the rest cancelled. A second stop, or ``drain_timeout`` running
out, cancels at once (what was in flight is recovered on the next start).
:meth:`Gateway.reload` (SIGHUP, ``POST /v1/admin/reload``) re-reads the settings
and applies the routes and API keys while messages flow (:mod:`.control`).
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import partial
from typing import Any, cast

import structlog
import trio

from billing_core import UtilitySettings

from .billing import SmsSelfService, sample_notices
from .callbacks import CallbackPolicy, CallbackSender
from .control import ReloadReport, RoutingConfiguration, restart_needed
from .heap import settle_after_start
from .interrupts import run_until_interrupted
from .jobs import (
    Daily,
    Job,
    JobRunner,
    Monthly,
    close_period_job,
    notices_job,
    parse_time_of_day,
    retention_job,
)
from .mo import MoInbox, MoRule
from .pipeline import MoMessage, Pipeline, SmscRoute, default_owner
from .pipeline.queue_depth import sample_queue_depth
from .routing import RoutingTable
from .settings import Settings, SettingsError
from .settings.checks import mo_receivers
from .settings.tenants import callback_secrets
from .store import (
    BillingStore,
    JobStore,
    MessageState,
    RateShareStore,
    RetentionStore,
    Store,
    StoreError,
    open_store,
)
from .store.callbacks import Backoff, CallbackStore
from .store.mo import MoRoute, MoStore
from .tenant_rates import TenantRates

__all__ = [
    "Gateway",
    "Started",
    "reload_on_sighup",
    "serve_until_signalled",
    "stop_on_signals",
]

_log = structlog.get_logger("smpp_engine.app")

# How often the queue-depth gauge is refreshed: a count per state per route.
_QUEUE_SAMPLE_SECONDS = 5.0
#: smpp_billing_notices changes with receipts, slowly: a count every few minutes is
#: enough, and each costs a grouped count over a month of notices.
_NOTICE_SAMPLE_SECONDS = 300.0
# /readyz answers within this even when the store hangs.
_READINESS_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Started:
    """What a started gateway listens on (ports are the bound ones, also when 0 was asked)."""

    store: str
    routes: tuple[str, ...]
    simulator_port: int | None
    simulator_control_port: int | None
    http_port: int | None
    billing: bool
    #: The SMPP server face's port ([smpp_server]), None when it is off.
    smpp_server_port: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"event": "running", **dataclasses.asdict(self)}


class Gateway:
    """One gateway process configured by ``settings``.

    Run it with ``await nursery.start(gateway.run)``, which returns a
    :class:`Started`. Attributes (``store``, ``pipeline``, ``simulator``,
    ``billing``) are set once started, for the demo and the tests to look at.
    ``load_settings`` reads the settings again for :meth:`reload` (None: the
    gateway cannot be reloaded).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        load_settings: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.load_settings = load_settings
        self.routing: RoutingConfiguration | None = None
        self._api: Any = None  # the HTTP API's context, once it serves
        self._simulator_port: int | None = None
        # The routes the queue-depth sampler reads: changed in place by a reload.
        self._sampled: list[str] = []
        self._reloading = trio.Lock()
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.simulator: Any = None
        self.billing: SmsSelfService | None = None
        self.jobs: JobRunner | None = None
        self.callbacks: CallbackSender | None = None
        self.mo_inbox: MoInbox | None = None
        self.smpp_server: Any = None
        self.tenant_rates: TenantRates | None = None
        self._stop_requested = trio.Event()
        self._stopped = trio.Event()
        self._services: trio.Nursery | None = None

    def stop(self) -> None:
        """Begin the graceful shutdown; a second call cuts it short."""
        if self._stop_requested.is_set():
            self._cancel_now()
            return
        self._stop_requested.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        try:
            await self._run(task_status)
        finally:
            self._stopped.set()

    async def _run(self, task_status: Any) -> None:
        settings = self.settings
        async with open_store(
            settings.store.url,
            pool_size=settings.store.pool_size,
            answers_pool_size=settings.store.answers_pool_size,
        ) as store:
            self.store = store
            # Checked before anything starts, so the error comes alone.
            utility = await self._utility(store)
            await self._serve(store, utility, task_status)
        _log.info("gateway stopped")

    async def _serve(self, store: Store, utility: UtilitySettings | None, task_status: Any) -> None:
        settings = self.settings
        async with trio.open_nursery() as services:
            self._services = services
            simulator_port, control_port = await self._start_simulator(services)
            self._simulator_port = simulator_port
            self.routing = self._routing(settings)
            routes = list(self.routing.routes)

            def take_mo(message: MoMessage) -> None:
                # The inbox is made after the pipeline (the self-service answers through it).
                assert self.mo_inbox is not None
                self.mo_inbox.take(message)

            pipeline = Pipeline(
                store,
                routes,
                clock=self.clock,
                on_mo=take_mo,
                writer_batch=settings.pipeline.writer_batch,
                writer_delay=settings.pipeline.writer_delay,
                housekeeping=settings.pipeline.housekeeping,
                quarantine_after=settings.pipeline.quarantine_after,
                restart_delay=settings.pipeline.route_restart_delay,
                restart_max_delay=settings.pipeline.route_restart_max_delay,
            )
            self.pipeline = pipeline
            billing = None
            if utility is not None:
                billing = self._self_service(store, utility, pipeline)
                self.billing = billing
                await services.start(billing.run)
                await services.start(
                    partial(sample_notices, store, every=_NOTICE_SAMPLE_SECONDS, clock=self.clock)
                )
            jobs = self._jobs(store, utility, pipeline)
            if jobs is not None:
                self.jobs = jobs
                await services.start(jobs.run)
            if settings.callbacks.enabled:
                self.callbacks = self._callback_sender(store)
                await services.start(self.callbacks.run)
            self.mo_inbox = self._mo_inbox(store, billing)
            await services.start(self.mo_inbox.run)
            pipeline_done = trio.Event()
            await services.start(self._run_pipeline, pipeline, pipeline_done)
            self._sampled[:] = [r.name for r in routes]
            await services.start(
                partial(sample_queue_depth, store, self._sampled, every=_QUEUE_SAMPLE_SECONDS)
            )
            # A tenant's throughput holds across processes and faces: one limiter per
            # tenant in this process, sized by its share, renewed in the store.
            self.tenant_rates = TenantRates(
                {t.name: t.throughput for t in settings.tenants},
                holder=pipeline.owner,
                clock=self.clock,
            )
            # Always running: a reload may give a tenant a throughput (none: no store call).
            await services.start(self.tenant_rates.keep_renewed, cast(RateShareStore, store))
            http_port = await self._start_http(services, store, pipeline)
            smpp_server_port = await self._start_smpp_server(services, store, pipeline)
            started = Started(
                store=store.name,
                routes=tuple(r.name for r in routes),
                simulator_port=simulator_port,
                simulator_control_port=control_port,
                http_port=http_port,
                billing=billing is not None,
                smpp_server_port=smpp_server_port,
            )
            _log.info("gateway running", **dataclasses.asdict(started))
            task_status.started(started)
            await self._stop_requested.wait()
            _log.info("stopping: draining the windows", timeout=settings.pipeline.drain_timeout)
            pipeline.stop()
            with trio.move_on_after(settings.pipeline.drain_timeout) as scope:
                await pipeline_done.wait()
            if scope.cancelled_caught:
                _log.warning("drain timed out; what is in flight is recovered on the next start")
            services.cancel_scope.cancel()

    def _cancel_now(self) -> None:
        if self._services is not None:
            _log.warning("stopping now, without waiting for the windows")
            self._services.cancel_scope.cancel()

    @staticmethod
    async def _run_pipeline(
        pipeline: Pipeline, done: trio.Event, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            await pipeline.run(task_status=task_status)
        finally:
            done.set()

    async def _start_simulator(self, nursery: trio.Nursery) -> tuple[int | None, int | None]:
        config = self.settings.simulator
        if not config.enabled:
            return None, None
        # Imported here: a gateway bound to a real SMSC does not load the simulator.
        from .simulator import Simulator  # noqa: PLC0415

        simulator = Simulator(config.load_scenario(), host=config.host, port=config.port)
        await nursery.start(simulator.run)
        self.simulator = simulator
        return int(simulator.port), simulator.control_port

    async def _start_smpp_server(
        self, nursery: trio.Nursery, store: Store, pipeline: Pipeline
    ) -> int | None:
        if self.settings.smpp_server is None:
            return None
        from .smpp_server import SmppServer  # noqa: PLC0415

        server = SmppServer(
            self.settings,
            store,
            pipeline.accept,
            owner=pipeline.owner,
            clock=self.clock,
            rates=self.tenant_rates,
        )
        port: int = await nursery.start(server.run)
        self.smpp_server = server
        return port

    def _route(self, route: SmscRoute, simulator_port: int | None) -> SmscRoute:
        """An ``[[smsc]]`` at the built-in simulator's address binds to the port it got.

        The simulator's address is its host and port; with port 0 (any free
        port: the demo, tests) every ``[[smsc]]`` on its host is taken to mean it.
        """
        config = self.settings.simulator
        esme = route.esme
        if simulator_port is None or esme.host != config.host:
            return route
        if config.port not in (0, esme.port):
            return route
        return dataclasses.replace(route, esme=dataclasses.replace(esme, port=simulator_port))

    async def _utility(self, store: Store) -> UtilitySettings | None:
        """The billed utility's settings when billing is enabled (refused when none is loaded)."""
        config = self.settings.billing
        if not config.enabled:
            return None
        try:
            utility = await cast(BillingStore, store).load_settings(config.utility or None)
        except StoreError as exc:
            # Refused at start, not per MO: the operator has to load the utility first.
            raise StoreError(
                store.name,
                f"[billing] is enabled but no utility is loaded ({exc}); "
                "load one with `smpp-engine billing import FILE` or disable billing",
            ) from None
        return config.apply_to(utility)

    def _jobs(
        self, store: Store, utility: UtilitySettings | None, pipeline: Pipeline
    ) -> JobRunner | None:
        """The scheduled jobs the settings ask for: the retention purge (UTC), and with
        billing closing each month and the day's notices, in the utility's time zone."""
        jobs = []
        retention = self.settings.retention
        if retention.enabled:
            daily = Daily(parse_time_of_day(retention.run_at), UTC)
            jobs.append(
                retention_job(
                    cast(RetentionStore, store),
                    daily,
                    days=retention.finished_after_days,
                    window=retention.batch,
                    pause=retention.pause,
                )
            )
        if utility is not None:
            jobs += self._billing_jobs(store, utility, pipeline)
        if not jobs:
            return None
        return JobRunner(cast(JobStore, store), jobs, owner=default_owner(), clock=self.clock)

    def _billing_jobs(
        self, store: Store, utility: UtilitySettings, pipeline: Pipeline
    ) -> list[Job]:
        """The utility's jobs: closing each month, and the day's notices."""
        config = self.settings.billing
        notices = self.settings.notices
        billing = cast(BillingStore, store)
        utility_id = config.utility or None
        jobs = []
        if config.close_period_day:
            at = parse_time_of_day(config.close_period_at)
            schedule = Monthly(config.close_period_day, at, utility.zone)
            jobs.append(close_period_job(billing, schedule, utility_id=utility_id))
        if notices.run_at != "off":
            daily = Daily(parse_time_of_day(notices.run_at), utility.zone)
            jobs.append(
                notices_job(
                    billing,
                    pipeline,
                    daily,
                    route=config.route,
                    utility_id=utility_id,
                    adjust=notices.apply_to,
                    warning_wait=timedelta(hours=notices.warning_wait_hours),
                    warning_retries=notices.warning_retries,
                    routing=self._routing_table,
                )
            )
        return jobs

    def _mo_inbox(self, store: Store, billing: SmsSelfService | None) -> MoInbox:
        """Where MO messages go: ``[[mo_routes]]`` in order (none: the self-service when
        billing is enabled); a message no route takes is kept, not refused for ever."""
        tenants = {t.name: t for t in self.settings.tenants}
        rules = []
        for rule in self.settings.mo_routes:
            smpp = None
            if rule.target == "smpp":
                # The settings checks made sure there is exactly one when none is named.
                smpp = rule.system_id or mo_receivers(tenants[rule.tenant])[0]
            rules.append(
                MoRule(
                    MoRoute.TENANT if rule.target == "smpp" else MoRoute(rule.target),
                    destination=rule.destination,
                    keyword=rule.keyword,
                    source_prefix=rule.source_prefix,
                    tenant=rule.tenant or None,
                    smpp=smpp,
                )
            )
        return MoInbox(
            cast(MoStore, store),
            rules,
            billing=None if billing is None else billing.take,
            tenant_urls={t.name: t.callback_url for t in self.settings.tenants if t.callback_url},
        )

    def _callback_sender(self, store: Store) -> CallbackSender:
        """The poster of the callback outbox, as ``[callbacks]`` says."""
        config = self.settings.callbacks
        policy = CallbackPolicy(
            timeout=config.timeout,
            backoff=Backoff(
                first=config.first_delay,
                factor=config.factor,
                longest=config.max_delay,
                give_up_after=config.retry_for,
            ),
            concurrency=config.concurrency,
            per_host=config.per_host,
            per_tenant=config.per_tenant,
            lease=config.lease,
            poll=config.poll,
        )
        return CallbackSender(
            cast(CallbackStore, store),
            callback_secrets(self.settings.tenants, config),
            policy,
            owner=default_owner(),
            clock=self.clock,
        )

    def _self_service(
        self, store: Store, utility: UtilitySettings, pipeline: Pipeline
    ) -> SmsSelfService:
        config = self.settings.billing
        return SmsSelfService(
            cast(BillingStore, store),
            utility,
            pipeline,
            route=config.route,
            clock=self.clock,
            workers=config.workers,
            backlog=config.backlog,
            batch=config.batch,
            batch_workers=config.batch_workers,
            reply_validity=config.reply_validity,
            ask_again_after=config.ask_again_after,
            routing=self.settings.routing_table(),
        )

    async def _start_http(
        self, nursery: trio.Nursery, store: Store, pipeline: Pipeline
    ) -> int | None:
        config = self.settings.http
        if not config.enabled:
            return None
        # Imported here: the web stack costs a few hundred milliseconds to load.
        from .http_api import (  # noqa: PLC0415
            ApiContext,
            Readiness,
            create_app,
            probe_readiness,
            serve_api,
        )
        from .http_api.tenancy import tenant_gate  # noqa: PLC0415

        def binds_up() -> dict[str, int]:
            return {name: d.binds_up for name, d in pipeline.dispatchers.items()}

        async def readiness() -> Readiness:
            with trio.move_on_after(_READINESS_TIMEOUT):
                return await probe_readiness(store, binds_up, pipeline.route_status)
            why = f"the store did not answer within {_READINESS_TIMEOUT:g} s"
            return Readiness(
                binds_up(),
                store_reachable=False,
                store_error=why,
                route_status=pipeline.route_status(),
            )

        routes = [smsc.name for smsc in self.settings.smsc]
        billing_route = self.settings.billing.route

        def rebind(name: str) -> None:
            if name in pipeline.dispatchers:  # a reload may have removed it since
                pipeline.rebind(name)

        context = ApiContext(
            store=store,
            accept=pipeline.accept,
            routes=routes,
            # As the routes' dispatchers will split them: accepted is sendable.
            route_texts=_route_texts(d.route for d in pipeline.dispatchers.values()),
            route_status=pipeline.route_status,
            api_key_digests=config.api_key_digests(),
            api_key_scopes=config.api_key_scopes(),
            metrics_public=config.metrics_public,
            readiness=readiness,
            clock=self.clock,
            default_priority=config.priority(),
            # Checked only when billing is enabled: a route no [[smsc]] has means the first.
            billing_route=billing_route if billing_route in routes else None,
            routing=self.settings.routing_table(),
            notice_rules=self.settings.notices.apply_to,
            warning_wait=timedelta(hours=self.settings.notices.warning_wait_hours),
            warning_retries=self.settings.notices.warning_retries,
            rebind=rebind,
            pauses_changed=pipeline.read_pauses,
            reload=self.reload if self.load_settings is not None else None,
            tenant_gate=tenant_gate(self.settings, self.tenant_rates),
        )
        self._api = context
        port: int = await nursery.start(
            lambda task_status: serve_api(
                create_app(context), host=config.host, port=config.port, task_status=task_status
            )
        )
        return port

    def _routing(self, settings: Settings) -> RoutingConfiguration:
        """The routing configuration ``settings`` describe, bound to this process's simulator."""
        return RoutingConfiguration(
            tuple(self._route(smsc.to_route(), self._simulator_port) for smsc in settings.smsc),
            settings.routing_table(),
        )

    async def reload(self) -> ReloadReport:
        """Read the settings again and apply their routes and API keys, messages flowing.

        New routes start; a removed route stops claiming, finishes what is in
        flight and leaves its queued messages in the store (counted in the
        report); a changed route drains and starts again with its new settings.
        API keys take effect on the next request. Settings that only a restart
        applies are named in ``restart_needed`` and left as they run. A file that
        does not load raises :class:`SettingsError` (logged) and changes nothing.
        """
        if self.load_settings is None:
            raise RuntimeError("this gateway has no settings file to reload")
        if self.pipeline is None or self.routing is None:
            raise RuntimeError("the gateway is not running")
        async with self._reloading:
            try:
                loaded = await trio.to_thread.run_sync(self.load_settings)
            except SettingsError as exc:
                _log.error("reload refused: the running settings stay", error=str(exc))
                raise
            before = {smsc.name: smsc for smsc in self.settings.smsc}
            changed = {smsc.name for smsc in loaded.smsc if before.get(smsc.name, smsc) != smsc}
            change = self._apply_routing(self._routing(loaded), changed)
            http = self.settings.http.model_copy(update={"api_keys": loaded.http.api_keys})
            later = restart_needed(self.settings, loaded)
            self.settings = self.settings.model_copy(
                update={
                    "smsc": loaded.smsc,
                    "routing": loaded.routing,
                    "http": http,
                    "tenants": loaded.tenants,
                }
            )
            self._apply_tenants()
            queued = {}
            assert self.store is not None
            for name in change["removed"]:
                counts = await self.store.count_by_state(smsc=name)
                queued[name] = counts.get(MessageState.QUEUED, 0) + counts.get(MessageState.HELD, 0)
            report = ReloadReport(
                added=change["added"],
                removed=change["removed"],
                changed=change["changed"],
                keys=len(http.api_keys),
                restart_needed=later,
                queued_on_removed=queued,
            )
            _log.info("settings reloaded", **report.as_json())
            if queued:
                _log.warning(
                    "removed routes leave their queued messages in the store", queued=queued
                )
            return report

    def _apply_routing(
        self, routing: RoutingConfiguration, changed: set[str]
    ) -> dict[str, list[str]]:
        """The one place the routing configuration is swapped: the pipeline runs its
        routes (``changed``: those whose settings changed), the API accepts messages
        for them, the sampler counts them."""
        assert self.pipeline is not None
        change = self.pipeline.reconfigure(routing.routes, changed=changed)
        self.routing = routing
        self._sampled[:] = routing.names
        if self.billing is not None:
            self.billing.routing = routing.table
        if self.smpp_server is not None:
            self.smpp_server.routing = routing.table
        if self._api is not None:
            self._api.replace_routes(
                routing.names,
                _route_texts(routing.routes),
                self.settings.billing.route,
                routing.table,
            )
        return change

    def _apply_tenants(self) -> None:
        """The keys and the tenants they act for, swapped together (a key never acts for
        a tenant it does not belong to), with the tenants' callback secrets and URLs."""
        settings = self.settings
        if self._api is not None:
            from .http_api.tenancy import tenant_gate  # noqa: PLC0415 - the web stack loads late

            if self.tenant_rates is not None:
                self.tenant_rates.update({t.name: t.throughput for t in settings.tenants})
            self._api.replace_keys(
                settings.http.api_key_digests(),
                settings.http.api_key_scopes(),
                tenant_gate(settings, self.tenant_rates),
            )
        if self.callbacks is not None:
            self.callbacks.secrets = dict(callback_secrets(settings.tenants, settings.callbacks))
        if self.mo_inbox is not None:
            self.mo_inbox.tenant_urls = {
                t.name: t.callback_url for t in settings.tenants if t.callback_url
            }

    def _routing_table(self) -> RoutingTable | None:
        """The routing table in force now (scheduled jobs ask at each run)."""
        return None if self.routing is None else self.routing.table


def _route_texts(routes: Iterable[SmscRoute]) -> dict[str, Any]:
    """How each route writes text, as the API plans messages for it."""
    from .http_api import RouteText  # noqa: PLC0415

    return {
        route.name: RouteText(
            route.text_profile,
            route.concatenation,
            route.submit_options.max_parts,
            route.submit_options.flash,
        )
        for route in routes
    }


async def reload_on_sighup(
    gateway: Gateway, *, task_status: Any = trio.TASK_STATUS_IGNORED
) -> None:
    """SIGHUP reloads ``gateway``'s settings; one that fails is logged, the gateway goes on."""
    with trio.open_signal_receiver(signal.SIGHUP) as signals:
        task_status.started()
        async for _ in signals:
            _log.info("signal received", signal="SIGHUP")
            try:
                await gateway.reload()
            except SettingsError:
                pass  # logged by reload, with every problem
            except RuntimeError as exc:
                _log.warning("reload skipped", reason=str(exc))


async def stop_on_signals(gateway: Gateway, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    """SIGINT (Ctrl-C) or SIGTERM stops ``gateway`` gracefully; a second one stops it now."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            _log.info("signal received", signal=signal.Signals(signum).name)
            gateway.stop()


def serve_until_signalled(gateway: Gateway, on_started: Callable[[Started], None]) -> None:
    """Run ``gateway`` under trio until SIGINT/SIGTERM has stopped it gracefully.

    ``on_started`` is told where it listens. The gateway's own errors (a
    ``StoreError`` at start) come out unwrapped from trio's exception groups.
    """

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(stop_on_signals, gateway)
            await nursery.start(reload_on_sighup, gateway)
            started = await nursery.start(gateway.run)
            settle_after_start()
            on_started(started)
            await gateway.wait_stopped()
            nursery.cancel_scope.cancel()

    run_until_interrupted(serve)
