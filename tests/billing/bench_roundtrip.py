"""CPU per SMS in the billing core (a script, not a test: timings never gate tests).

Run from the repository root::

    .venv/bin/python -m tests.billing.bench_roundtrip

Prints the CPU time (``time.process_time``) per call, best of several rounds,
of the pure round trip ``process_sms`` (parse + validate + compute + render,
with the reply's part count by the protocol core's ``plan_text``) for typical
SMS, and of its parts. A calibration loop is printed too, to compare machines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from billing_core import (
    Language,
    Period,
    Rejection,
    ReplyKind,
    check_register,
    parse_sms,
    process_sms,
    render,
    resolve,
)

from .builders import ACCOUNT, NOW, SIZER, two_zone_context

ROUNDS = 7
CALLS = 2000


def cpu_per_call(action: Callable[[], object], calls: int = CALLS) -> float:
    """Microseconds of CPU per call, the best of ROUNDS rounds."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(calls):
            action()
        best = min(best, time.process_time() - start)
    return best / calls * 1e6


def main() -> None:
    context = two_zone_context()
    assert context.account is not None
    snapshot = context.account
    grammar = context.settings.grammar
    text = "1234567890 12150 5080"
    outcome = process_sms(context, text, mo_message_id="m", now=NOW, sizer=SIZER)
    assert outcome.reply is not None
    print(f"reply: {outcome.reply.text!r} ({outcome.reply.parts} part)")

    command = parse_sms(text, grammar)
    submitted = resolve(snapshot.active_meters, command.meters, ACCOUNT)
    assert not isinstance(submitted, Rejection)
    history = snapshot.register_history(submitted[0].register.id)
    fields = {
        "account": ACCOUNT,
        "values": "Т1 12150 Т2 5080",  # noqa: RUF001 - the reply's Cyrillic zones
        "usage": "230 кВт·ч",
        "balance": "Долг 1027,20 р до 15.04",  # noqa: RUF001
    }
    rows = [
        ("calibration: sum(range(100))", lambda: sum(range(100))),
        ("parse only", lambda: parse_sms(text, grammar)),
        (
            "check one register",
            lambda: check_register(
                submitted[0],
                history,
                period=Period(2024, 3),
                now=NOW,
                plausibility=context.settings.plausibility,
            ),
        ),
        (
            "render the reply (plan_text)",
            lambda: render(ReplyKind.READING_ACCEPTED, Language.RU, fields, SIZER),
        ),
        (
            "round trip: two-zone reading",
            lambda: process_sms(context, text, mo_message_id="m", now=NOW, sizer=SIZER),
        ),
        (
            "round trip: balance",
            lambda: process_sms(context, "БАЛ", mo_message_id="m", now=NOW, sizer=SIZER),
        ),
        (
            "round trip: confirmation asked",
            lambda: process_sms(context, "19000 5080", mo_message_id="m", now=NOW, sizer=SIZER),
        ),
        (
            "round trip: next month",
            lambda: process_sms(
                context, "12300 5150", mo_message_id="m", now=NOW + timedelta(days=30), sizer=SIZER
            ),
        ),
    ]
    for name, action in rows:
        print(f"{name:34s} {cpu_per_call(action):8.1f} us CPU")


if __name__ == "__main__":
    main()
