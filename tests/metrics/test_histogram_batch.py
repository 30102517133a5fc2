"""A batch of observations into a histogram reads the same as observing each value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram

from metrics.catalogue import histogram_batch_observer

BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)

# Values on the bounds themselves check that a bound is inclusive (le) in both.
values = st.lists(
    st.one_of(
        st.sampled_from(BUCKETS),
        st.floats(min_value=0.0, max_value=5.0, allow_nan=False),
    ),
    max_size=50,
)


def _pair() -> tuple[Histogram, Histogram, CollectorRegistry, CollectorRegistry]:
    one, other = CollectorRegistry(), CollectorRegistry()
    each = Histogram("latency_seconds", "d", ["side"], buckets=BUCKETS, registry=one)
    batched = Histogram("latency_seconds", "d", ["side"], buckets=BUCKETS, registry=other)
    return each, batched, one, other


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    # The _created sample is a wall-clock time, different between two metrics.
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


@given(batches=st.lists(values, max_size=5))
def test_batches_expose_what_observing_each_value_does(batches: list[list[float]]) -> None:
    each, batched, one, other = _pair()
    observe_batch = histogram_batch_observer(batched, "esme")
    observe_each = each.labels("esme").observe
    for batch in batches:
        for value in batch:
            observe_each(value)
        observe_batch(batch)
    expected, got = _samples(one), _samples(other)
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        # The sum is added once per batch: the same up to float rounding.
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_the_fallback_observes_each_value_when_the_internals_differ() -> None:
    _, batched, _, _ = _pair()
    labelled = batched.labels("esme")
    labelled._buckets = None  # type: ignore[assignment]  # as a future client might lay it out
    observed: list[float] = []
    labelled.observe = lambda value, exemplar=None: observed.append(value)  # type: ignore[method-assign]
    observe_batch = histogram_batch_observer(batched, "esme")
    observe_batch([0.002, 0.2])
    assert observed == [0.002, 0.2]
