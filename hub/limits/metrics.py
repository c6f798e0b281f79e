"""The limits' refusals as one Prometheus counter, ``partnerhub_limit_refusals_total``,
labelled by the limit's name only (``token_address``, ``graphql_cost``,
``ingest_bytes``...): never a client id, an address or an e-mail, so the number of
series is fixed and nothing secret reaches ``/metrics``. Counts are this process's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from auth.rate_limits import RateLimits


class LimitRefusals(Collector):
    """Reads the refusal counts of the given limits whenever ``/metrics`` is scraped."""

    def __init__(self, sources: Iterable[RateLimits]) -> None:
        self.sources = tuple(sources)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "partnerhub_limit_refusals",
            "Requests refused by a rate limit, budget or quota (this process), by limit.",
            labels=["limit"],
        )
        for source in self.sources:
            for limit in sorted(source.rates):  # every limit turned on, refused or not
                family.add_metric([limit], source.refusals[limit])
        yield family
