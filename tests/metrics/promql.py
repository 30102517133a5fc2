"""Just enough PromQL reading to find which metrics and labels a query uses.

Not a parser: a tokenizer that knows selectors (``name{label="..."}``), grouping
clauses (``by (...)``, ``on (...)``...) and which identifiers are functions (the
ones followed by ``(``). Strings, range and subquery brackets and Grafana
variables are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Words that are neither metrics nor functions (those are followed by "(").
KEYWORDS = frozenset({"bool", "and", "or", "unless", "offset", "inf", "nan", "atan2"})
#: Clauses that take a list of label names.
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
AGGREGATIONS = frozenset(
    {
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "limitk",
        "limit_ratio",
    }
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<brackets>\[[^\]]*\])
    | (?P<variable>\$\{[^}]*\}|\$\w+)
    | (?P<number>0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z]*)
    | (?P<ident>[a-zA-Z_:][\w:]*)
    | (?P<matcher>=~|!~|!=|==|=)
    | (?P<punct>[(){},])
    | (?P<operator>[-+*/%^<>]=?|@)
    """,
    re.VERBOSE,
)


class PromQLError(ValueError):
    """A query this reader cannot follow; ``query`` is the query, ``at`` the offset."""

    def __init__(self, reason: str, query: str, at: int) -> None:
        self.query = query
        self.at = at
        super().__init__(f"{reason} at offset {at} of {query!r}")


@dataclass
class Selector:
    """One metric name and the labels its ``{...}`` matches on."""

    metric: str
    labels: set[str] = field(default_factory=set)


@dataclass
class Grouping:
    """A ``by``/``without``/``on``... clause and the metrics it applies to."""

    clause: str
    labels: list[str]
    metrics: list[str]


@dataclass
class Query:
    selectors: list[Selector]
    groupings: list[Grouping]

    @property
    def metrics(self) -> set[str]:
        return {s.metric for s in self.selectors}


def tokenize(query: str) -> list[tuple[str, str]]:
    """(kind, text) pairs, without whitespace, strings, brackets and variables."""
    tokens = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            raise PromQLError("unexpected character", query, position)
        kind = match.lastgroup
        assert kind is not None
        if kind not in {"space", "string", "brackets", "variable"}:
            tokens.append((kind, match.group()))
        position = match.end()
    return tokens


def read(query: str) -> Query:
    """The selectors and grouping clauses of ``query``."""
    tokens = tokenize(query)
    partner = _match_parens(tokens, query)
    selectors: list[tuple[int, Selector]] = []
    clauses: list[tuple[str, list[str], int, int]] = []  # clause, labels, scope start, end
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind == "punct" and text == "{":
            raise PromQLError("a selector without a metric name", query, i)
        if kind != "ident":
            i += 1
            continue
        if text in GROUPING:
            labels, after = _label_list(tokens, i + 1, query)
            start, end = _scope(tokens, partner, i, after, text)
            clauses.append((text, labels, start, end))
            i = after
        elif (
            following == "("
            or text.lower() in KEYWORDS
            or (text in AGGREGATIONS and following in {"by", "without"})
        ):
            i += 1
        else:
            selector = Selector(text)
            selectors.append((i, selector))
            i += 1
            if i < len(tokens) and tokens[i][1] == "{":
                i = _selector_labels(tokens, i + 1, selector, query)
    groupings = [
        Grouping(clause, labels, [s.metric for at, s in selectors if start <= at <= end])
        for clause, labels, start, end in clauses
    ]
    return Query([s for _, s in selectors], groupings)


def _match_parens(tokens: list[tuple[str, str]], query: str) -> dict[int, int]:
    partner: dict[int, int] = {}
    stack: list[int] = []
    for index, (_, text) in enumerate(tokens):
        if text == "(":
            stack.append(index)
        elif text == ")":
            if not stack:
                raise PromQLError("unbalanced ')'", query, index)
            opening = stack.pop()
            partner[opening] = index
            partner[index] = opening
    if stack:
        raise PromQLError("unbalanced '('", query, stack[-1])
    return partner


def _label_list(tokens: list[tuple[str, str]], i: int, query: str) -> tuple[list[str], int]:
    """The labels of ``(a, b)`` starting at ``i`` (none for a bare group_left) and what follows."""
    if i >= len(tokens) or tokens[i][1] != "(":
        return [], i
    labels = []
    i += 1
    while tokens[i][1] != ")":
        kind, text = tokens[i]
        if kind == "ident":
            labels.append(text)
        elif text != ",":
            raise PromQLError(f"unexpected {text!r} in a label list", query, i)
        i += 1
    return labels, i + 1


def _scope(
    tokens: list[tuple[str, str]], partner: dict[int, int], at: int, after: int, clause: str
) -> tuple[int, int]:
    """Token range the clause at ``at`` groups: its aggregation's argument, else everything."""
    if clause in {"by", "without"}:
        before = tokens[at - 1][1] if at else ""
        if before in AGGREGATIONS and after < len(tokens) and tokens[after][1] == "(":
            return after, partner[after]  # sum by (x) (...)
        if before == ")":
            return partner[at - 1], at - 1  # sum(...) by (x)
    return 0, len(tokens)


def _selector_labels(tokens: list[tuple[str, str]], i: int, selector: Selector, query: str) -> int:
    """Add the matched labels of ``{...}`` (``i`` is past the brace); return past the ``}``."""
    while i < len(tokens) and tokens[i][1] != "}":
        kind, text = tokens[i]
        if kind == "ident" and i + 1 < len(tokens) and tokens[i + 1][0] == "matcher":
            selector.labels.add(text)
        i += 1
    if i == len(tokens):
        raise PromQLError("unclosed '{'", query, i)
    return i + 1
