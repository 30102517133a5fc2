"""Every query in the dashboard and the alert rules uses catalogue metrics and their labels.

A renamed metric or label would leave a panel empty and an alert silent without
any error from Grafana or Prometheus; this finds it first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics import MetricWrapperBase

from metrics.readme_table import catalogue_metrics

from .promql import PromQLError, read

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "metrics" / "dashboards" / "smpp-engine.json"
RULES = ROOT / "metrics" / "alerts" / "rules.yml"
#: Labels Prometheus adds to every scraped series.
TARGET_LABELS = frozenset({"job", "instance"})
#: The sample names each metric type exposes, by suffix.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


def exposed_samples() -> dict[str, frozenset[str]]:
    """Every sample name the catalogue exposes, with the labels it carries."""
    samples = {}
    for metric in catalogue_metrics():
        labels = frozenset(metric._labelnames) | TARGET_LABELS
        for suffix in SUFFIXES[str(metric._type)]:
            extra = {"le"} if suffix == "_bucket" else set()
            samples[metric._name + suffix] = labels | extra
    return samples


SAMPLES = exposed_samples()


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found.append(panel)
        found.extend(_panels(panel.get("panels", [])))  # panels inside collapsed rows
    return found


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_targets() -> list[tuple[str, str, str]]:
    """(panel and refId, expression, legend) of every dashboard query."""
    return [
        (f"{panel['title']}/{target['refId']}", target["expr"], target.get("legendFormat", ""))
        for panel in _panels(dashboard()["panels"])
        for target in panel.get("targets", [])
    ]


def rule_expressions() -> list[tuple[str, str]]:
    """(alert, expression) of every rule, read from the file's own layout.

    The rules are written one way (``- alert:`` then ``expr: |`` and an indented
    block, or ``expr:`` and the query on the same line); a rule read any other
    way fails :func:`test_every_alert_has_its_expression_read`.
    """
    rules: list[tuple[str, str]] = []
    lines = RULES.read_text().splitlines()
    alert = ""
    for number, line in enumerate(lines):
        if match := re.match(r"\s*- alert:\s*(\S+)", line):
            alert = match.group(1)
        elif match := re.match(r"(\s*)expr:\s*(.*)$", line):
            indent, value = len(match.group(1)), match.group(2).strip()
            if value in {"|", "|-", ">", ">-"}:
                block = []
                for following in lines[number + 1 :]:
                    if following.strip() and len(following) - len(following.lstrip()) <= indent:
                        break
                    block.append(following.strip())
                value = "\n".join(block).strip()
            rules.append((alert, value.strip("'\"")))
    return rules


QUERIES = [
    pytest.param(expr, id=f"dashboard:{where}") for where, expr, _ in dashboard_targets()
] + [pytest.param(expr, id=f"rules:{alert}") for alert, expr in rule_expressions()]


def test_the_reader_finds_metrics_labels_and_groupings() -> None:
    query = read(
        'histogram_quantile(0.99, sum by (le, side) (rate(x_bucket{side="esme", bind=~"$b"}'
        "[$__rate_interval]))) / on (side) group_left max(y) by (side) and z offset 5m > bool 1"
    )
    assert [(s.metric, s.labels) for s in query.selectors] == [
        ("x_bucket", {"side", "bind"}),
        ("y", set()),
        ("z", set()),
    ]
    assert [(g.clause, g.labels, g.metrics) for g in query.groupings] == [
        ("by", ["le", "side"], ["x_bucket"]),
        ("on", ["side"], ["x_bucket", "y", "z"]),
        ("group_left", [], ["x_bucket", "y", "z"]),
        ("by", ["side"], ["y"]),
    ]
    with pytest.raises(PromQLError, match="unbalanced"):
        read("sum(rate(x[5m])")


def test_the_dashboard_and_the_rules_have_queries() -> None:
    assert len(dashboard_targets()) >= 20
    assert {alert for alert, _ in rule_expressions()} >= {
        "SmppBindDown",
        "SmppSustainedThrottling",
        "SmppDeliveryRatioLow",
        "SmppQueueGrowing",
        "SmppBillingRoundTripSlow",
        "SmppStoreErrors",
        "SmppStoreWriterBacklogHigh",
    }


def test_every_alert_has_its_expression_read() -> None:
    alerts = re.findall(r"^\s*- alert:", RULES.read_text(), flags=re.MULTILINE)
    rules = rule_expressions()
    assert len(rules) == len(alerts)
    assert all(expr and "\n\n" not in expr for _, expr in rules)


@pytest.mark.parametrize("expr", QUERIES)
def test_every_metric_is_in_the_catalogue(expr: str) -> None:
    query = read(expr)
    assert query.metrics, "a query with no metric"
    unknown = query.metrics - SAMPLES.keys()
    assert not unknown, f"not exposed by metrics.catalogue: {sorted(unknown)}"


@pytest.mark.parametrize("expr", QUERIES)
def test_every_label_is_one_its_metric_has(expr: str) -> None:
    query = read(expr)
    for selector in query.selectors:
        missing = selector.labels - SAMPLES[selector.metric]
        assert not missing, f"{selector.metric} has no label {sorted(missing)}"
    for grouping in query.groupings:
        for metric in grouping.metrics:
            missing = set(grouping.labels) - SAMPLES[metric]
            assert not missing, f"{grouping.clause} ({', '.join(grouping.labels)}): {metric}"


@pytest.mark.parametrize(("where", "expr", "legend"), dashboard_targets())
def test_every_legend_label_is_in_its_query(where: str, expr: str, legend: str) -> None:
    query = read(expr)
    labels = set().union(*(SAMPLES[metric] for metric in query.metrics))
    for grouping in query.groupings:
        if grouping.clause == "by":
            labels &= set(grouping.labels) | TARGET_LABELS
    used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
    assert used <= labels, f"{where}: legend uses {sorted(used - labels)}"


def test_the_dashboard_is_parameterised_by_datasource_smsc_and_bind() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in _panels(board["panels"]):
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    for name in ("smsc", "bind"):
        definition = variables[name]["query"]["query"]
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", definition)
        assert match is not None, definition
        (selector,) = read(match.group(1)).selectors
        assert match.group(2) == name
        assert {name} | selector.labels <= SAMPLES[selector.metric]
    # Each variable filters at least one panel.
    queries = " ".join(expr for _, expr, _ in dashboard_targets())
    assert '=~"$smsc"' in queries and '=~"$bind"' in queries


def test_samples_follow_the_exposition_names() -> None:
    # prometheus_client keeps a counter's name without _total; the samples have it.
    by_name = {m._name: m for m in catalogue_metrics()}
    pdus: MetricWrapperBase = by_name["smpp_pdus"]
    assert pdus._type == "counter"
    assert "smpp_pdus_total" in SAMPLES and "smpp_pdus" not in SAMPLES
    assert "le" in SAMPLES["smpp_submit_latency_seconds_bucket"]
    assert "le" not in SAMPLES["smpp_submit_latency_seconds_count"]
