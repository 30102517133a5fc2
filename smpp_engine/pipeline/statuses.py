"""What to do when an SMSC answers a submit with an error: every command_status classified.

An operator's SMSC answers a submit with one of some sixty statuses. Some say
"not now" (throttling, a full queue, a system error), some say "not over this
bind" (the bind is in the wrong state), and the rest say "never" (a bad address,
a refused data coding). Retrying a "never" wastes the operator's throughput and
can get the account blocked; giving up on a "not now" loses a message.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from ..protocol import CommandStatus

__all__ = ["DEFAULT_VERDICTS", "StatusClassifier", "Verdict"]


class Verdict(enum.StrEnum):
    RETRY_LATER = "retry_later"  # the same SMSC will probably take it after a while
    RETRY_ELSEWHERE = "retry_elsewhere"  # this bind is the problem: another bind may take it
    PERMANENT = "permanent"  # the message itself is refused; resending cannot help


S = CommandStatus
_RETRY_LATER = (
    S.ESME_RTHROTTLED,
    S.ESME_RMSGQFUL,
    S.ESME_RSYSERR,
    S.ESME_RX_T_APPN,
    S.ESME_RSUBMITFAIL,  # generic "submit failed": operators use it for transient faults
    S.ESME_RDELIVERYFAILURE,
    S.ESME_RUNKNOWNERR,
)
_RETRY_ELSEWHERE = (
    S.ESME_RINVBNDSTS,  # our bind is not in a state to submit, as the SMSC sees it
    S.ESME_RALYBND,
    S.ESME_RBINDFAIL,
    S.ESME_RINVPASWD,
    S.ESME_RINVSYSID,
    S.ESME_RINVCMDID,  # this link does not do submit_sm (e.g. a receiver bind)
    S.ESME_RSERTYPUNAVAIL,
)
_PERMANENT = (
    S.ESME_RINVMSGLEN,
    S.ESME_RINVCMDLEN,
    S.ESME_RINVPRTFLG,
    S.ESME_RINVREGDLVFLG,
    S.ESME_RINVSRCADR,
    S.ESME_RINVDSTADR,
    S.ESME_RINVMSGID,
    S.ESME_RCANCELFAIL,
    S.ESME_RREPLACEFAIL,
    S.ESME_RINVSERTYP,
    S.ESME_RINVNUMDESTS,
    S.ESME_RINVDLNAME,
    S.ESME_RINVDESTFLAG,
    S.ESME_RINVSUBREP,
    S.ESME_RINVESMCLASS,
    S.ESME_RCNTSUBDL,
    S.ESME_RINVSRCTON,
    S.ESME_RINVSRCNPI,
    S.ESME_RINVDSTTON,
    S.ESME_RINVDSTNPI,
    S.ESME_RINVSYSTYP,
    S.ESME_RINVREPFLAG,
    S.ESME_RINVNUMMSGS,
    S.ESME_RINVSCHED,
    S.ESME_RINVEXPIRY,
    S.ESME_RINVDFTMSGID,
    S.ESME_RX_P_APPN,
    S.ESME_RX_R_APPN,
    S.ESME_RQUERYFAIL,
    S.ESME_RINVOPTPARSTREAM,
    S.ESME_ROPTPARNOTALLWD,
    S.ESME_RINVPARLEN,
    S.ESME_RMISSINGOPTPARAM,
    S.ESME_RINVOPTPARAMVAL,
    S.ESME_RSERTYPUNAUTH,
    S.ESME_RPROHIBITED,
    S.ESME_RSERTYPDENIED,
    S.ESME_RINVDCS,
    S.ESME_RINVSRCADDRSUBUNIT,
    S.ESME_RINVDSTADDRSUBUNIT,
    S.ESME_RINVBCASTFREQINT,
    S.ESME_RINVBCASTALIAS_NAME,
    S.ESME_RINVBCASTAREAFMT,
    S.ESME_RINVNUMBCAST_AREAS,
    S.ESME_RINVBCASTCNTTYPE,
    S.ESME_RINVBCASTMSGCLASS,
    S.ESME_RBCASTFAIL,
    S.ESME_RBCASTQUERYFAIL,
    S.ESME_RBCASTCANCELFAIL,
    S.ESME_RINVBCAST_REP,
    S.ESME_RINVBCASTSRVGRP,
    S.ESME_RINVBCASTCHANIND,
)

#: The verdict for every command_status the specifications define (ESME_ROK aside).
DEFAULT_VERDICTS: Mapping[int, Verdict] = MappingProxyType(
    {
        **{int(s): Verdict.RETRY_LATER for s in _RETRY_LATER},
        **{int(s): Verdict.RETRY_ELSEWHERE for s in _RETRY_ELSEWHERE},
        **{int(s): Verdict.PERMANENT for s in _PERMANENT},
    }
)


class StatusClassifier:
    """The verdict for a submit's error status, with per-SMSC overrides.

    Statuses no specification defines (vendor codes, 0x400 and up) are
    ``unknown`` (default RETRY_LATER: the retry limit bounds the cost, and a
    vendor's transient fault must not lose the message); an operator who learns
    what a vendor code means adds it to ``overrides``.
    """

    __slots__ = ("_table", "unknown")

    def __init__(
        self,
        overrides: Mapping[int, Verdict] | None = None,
        *,
        unknown: Verdict = Verdict.RETRY_LATER,
    ) -> None:
        table = dict(DEFAULT_VERDICTS)
        for status, verdict in (overrides or {}).items():
            if not isinstance(status, int) or status <= 0 or status > 0xFFFFFFFF:
                raise ValueError(
                    f"overrides: status must be a non-zero 32-bit code, got {status!r}"
                )
            table[status] = Verdict(verdict)
        self._table = table
        self.unknown = Verdict(unknown)

    def verdict(self, status: int) -> Verdict:
        if status == 0:
            raise ValueError("status 0 (ESME_ROK) is not an error")
        return self._table.get(status, self.unknown)
