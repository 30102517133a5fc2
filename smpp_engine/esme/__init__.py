"""The ESME client: binds to an SMSC over trio, on top of the sans-IO protocol core.

- :func:`open_bind` / :class:`Bind`: one connection, bound; ``send`` (streaming,
  outcomes in batches to a sink) and ``submit`` (await one outcome); inbound
  messages on a channel or in batches to a sink.
- :func:`supervise` / :class:`SupervisedBind`: a bind that reconnects for ever.
- :func:`open_pool` / :class:`BindPool`: several binds to one account.
- :func:`send_texts` / :class:`SendReport`: what ``smpp-engine send`` runs.
"""

from .backoff import Backoff
from .bind import Bind, open_bind
from .bind_metrics import BIND_STATES, BindMetrics
from .config import BindType, ConfigError, EsmeConfig, ReconnectPolicy, TlsConfig
from .errors import (
    BindRejectedError,
    ConnectError,
    EsmeError,
    LinkLostError,
    NotBoundError,
    TlsError,
)
from .inbound import Inbound, InboundSink, read_inbound
from .outcomes import Outcome, OutcomeSink, OutcomeStream, SubmitOutcome, UnknownReason
from .pool import BindPool, open_pool
from .sender import SendReport, send_texts
from .supervisor import ReconnectReason, SupervisedBind, supervise
from .transport import open_stream, ssl_context

__all__ = [
    "BIND_STATES",
    "Backoff",
    "Bind",
    "BindMetrics",
    "BindPool",
    "BindRejectedError",
    "BindType",
    "ConfigError",
    "ConnectError",
    "EsmeConfig",
    "EsmeError",
    "Inbound",
    "InboundSink",
    "LinkLostError",
    "NotBoundError",
    "Outcome",
    "OutcomeSink",
    "OutcomeStream",
    "ReconnectPolicy",
    "ReconnectReason",
    "SendReport",
    "SubmitOutcome",
    "SupervisedBind",
    "TlsConfig",
    "TlsError",
    "UnknownReason",
    "open_bind",
    "open_pool",
    "open_stream",
    "read_inbound",
    "send_texts",
    "ssl_context",
    "supervise",
]
