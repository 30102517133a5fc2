"""Campaigns and recipient groups over HTTP, on both stores, through the campaign service."""

from __future__ import annotations

from smpp_engine.store import MessageState

from .conftest import Api

TEMPLATE = "Dear {name}, your debt is {amount} EUR. Pay to avoid a penalty."
NO_QUIET_HOURS = {"weekday": None, "weekend": None}


def _recipients(*numbers: str) -> list[dict[str, object]]:
    return [
        {"msisdn": number, "fields": {"name": f"N{i}", "amount": f"{i}.50"}}
        for i, number in enumerate(numbers)
    ]


async def test_a_campaign_from_inline_recipients_is_queued_and_steered(api: Api) -> None:
    created = await api.client.post(
        "/v1/campaigns",
        json={
            "name": "debt-december",
            "template": TEMPLATE,
            "sender": "WATERCO",
            "rate": 100,
            "quiet_hours": NO_QUIET_HOURS,
            "recipients": [
                *_recipients("+44 7700 900001", "447700900002", "447700900002"),
                {"msisdn": "447700900003", "fields": {"name": "No amount"}},
            ],
        },
    )
    assert created.status_code == 201, created.text
    report = created.json()
    assert (report["queued"], report["duplicates"]) == (2, 1)
    assert report["skipped"] == {"missing_field": 1}
    campaign = report["campaign"]
    assert (campaign["state"], campaign["route"], campaign["kind"]) == ("running", "main", "bulk")
    url = f"/v1/campaigns/{campaign['id']}"

    shown = (await api.client.get(url)).json()
    assert shown["stats"]["queued"] == 2 and shown["name"] == "debt-december"
    listed = (await api.client.get("/v1/campaigns")).json()["campaigns"]
    assert [c["name"] for c in listed] == ["debt-december"]

    paused = await api.client.post(f"{url}/pause")
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert (await api.store.count_by_state()).get(MessageState.HELD) == 2
    assert (await api.client.post(f"{url}/pause")).status_code == 409
    assert (await api.client.post(f"{url}/resume")).json()["state"] == "running"
    cancelled = await api.client.post(f"{url}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    assert (await api.store.count_by_state()).get(MessageState.CANCELLED) == 2
    conflict = await api.client.post(f"{url}/resume")
    assert conflict.status_code == 409 and conflict.json()["value"] == "cancelled"
    assert (await api.client.post("/v1/campaigns/424242/pause")).status_code == 404


async def test_a_campaign_to_a_group_and_the_groups_members(api: Api) -> None:
    made = await api.client.post(
        "/v1/groups", json={"name": "debtors", "members": _recipients("447700900001")}
    )
    assert made.status_code == 201, made.text
    assert made.json()["members"] == 1
    assert (await api.client.post("/v1/groups", json={"name": "debtors"})).status_code == 409
    added = await api.client.post(
        "/v1/groups/debtors/members",
        json={"members": _recipients("447700900001", "07700 900002"), "country_code": "44"},
    )
    assert added.status_code == 200, added.text
    assert added.json()["members"] == 2
    removed = await api.client.delete("/v1/groups/debtors/members/447700900002")
    assert (removed.status_code, removed.json()["removed"]) == (200, 1)
    assert (await api.client.get("/v1/groups")).json()["groups"][0]["members"] == 1
    assert (await api.client.delete("/v1/groups/none/members/447700900002")).status_code == 404

    created = await api.client.post(
        "/v1/campaigns",
        json={"name": "to-group", "template": TEMPLATE, "sender": "WATERCO",
              "group": "debtors", "legal_notice": True, "quiet_hours": NO_QUIET_HOURS},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["queued"] == 1
    assert created.json()["campaign"]["kind"] == "legal_notice"
    duplicate = await api.client.post(
        "/v1/campaigns",
        json={"name": "to-group", "template": TEMPLATE, "sender": "WATERCO", "group": "debtors"},
    )
    assert duplicate.status_code == 409


async def test_campaign_input_errors_name_the_field(sqlite_api: Api) -> None:
    base = {"name": "c", "template": TEMPLATE, "sender": "WATERCO"}
    cases = [
        ({**base}, "recipients"),
        ({**base, "group": "g", "recipients": []}, "recipients"),
        ({**base, "group": "no-such-group"}, "group"),
        ({**base, "recipients": [{"msisdn": "abc"}]}, "recipients[0].msisdn"),
        ({**base, "recipients": [], "time_zone": "Mars/Base"}, "time_zone"),
        ({**base, "recipients": [], "quiet_hours": {"weekday": "late"}}, "quiet_hours.weekday"),
        ({**base, "recipients": [], "start_at": "soon"}, "start_at"),
        ({**base, "recipients": [], "rate": 0}, "rate"),
        ({**base, "recipients": [], "sender": "TOO-LONG-SENDER"}, "sender"),
        ({**base, "recipients": [], "template": "Hi {name"}, "template"),
    ]
    for body, field in cases:
        answer = await sqlite_api.client.post("/v1/campaigns", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.json())
    assert (await sqlite_api.client.get("/v1/campaigns")).json()["campaigns"] == []


async def test_the_inputs_that_were_500s_are_422s_naming_field_and_value(api: Api) -> None:
    """A folder for a time zone, a rate whose interval overflows, a start at either end
    of the calendar: each is refused before anything is stored, and the list is still
    answered."""
    base = {"name": "c", "template": TEMPLATE, "sender": "WATERCO", "recipients": []}
    cases = [
        ("time_zone", "Europe"),
        ("time_zone", "Etc"),
        ("time_zone", "../../etc/passwd"),
        ("time_zone", "Europe/\u202eSofia"),
        ("rate", 5e-324),
        ("rate", 1e-300),
        ("rate", 0.0001),
        ("start_at", "0001-01-01T00:00:00+14:00"),
        ("start_at", "9999-12-31T23:59:59+00:00"),
        ("start_at", "9999-12-31T23:59:59-14:00"),
        ("start_at", "1970-01-01T00:00:00Z"),
    ]
    for field, value in cases:
        answer = await api.client.post("/v1/campaigns", json={**base, field: value})
        assert answer.status_code == 422, (field, value, answer.text)
        error = answer.json()
        assert (error["field"], error["value"]) == (field, value), error
        assert field in error["detail"]
    listed = await api.client.get("/v1/campaigns")
    assert (listed.status_code, listed.json()["campaigns"]) == (200, [])


async def test_a_group_name_of_spaces_is_refused(sqlite_api: Api) -> None:
    answer = await sqlite_api.client.post("/v1/groups", json={"name": " \t"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "name"
