"""Prometheus metrics of the service and the alert worker.

Counters and histograms live in this process's default registry. With
``PROMETHEUS_MULTIPROC_DIR`` set (before the process starts), prometheus_client
writes them to files in that folder instead, and a scrape of any process sums
every process's files: several uvicorn workers and the alert worker then show
as one service. Values read from the store or the model at scrape time (queue
depth, model version) are collected live by :class:`LiveCollector`, never
stored per process, so they cannot go stale.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger("stallwatch.metrics")

#: Route label of a request that matched no route (bounded: not the raw path).
UNMATCHED_ROUTE = "<unmatched>"

HTTP_REQUESTS = Counter(
    "stallwatch_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "stallwatch_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by route template.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RISK_SCORES = Counter(
    "stallwatch_risk_scores",
    "Tickets scored and returned by POST /v1/risk-scores.",
)
EVENTS = Counter(
    "stallwatch_events",
    "Live events received by POST /v1/events, by outcome: stored, duplicate, "
    "conflict or rejected (failed validation).",
    ["outcome"],
)
ALERTS_SENT = Counter(
    "stallwatch_alerts_sent",
    "Alert messages delivered, by channel.",
    ["channel"],
)
ALERTS_FAILED = Counter(
    "stallwatch_alerts_failed",
    "Failed alert delivery attempts, by channel; state is 'pending' when the "
    "message will be retried and 'dead' when it will not.",
    ["channel", "state"],
)


def multiprocess_dir() -> str | None:
    """Return the folder of multiprocess mode, or None in single-process mode."""
    # prometheus_client itself reads this variable when it is imported; the
    # settings object validates it (stallwatch.settings) so a bad folder is a
    # clear start-up error, not a failure on the first metric update.
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def count_delivery(channel: str, state: str) -> None:
    """Count one delivery attempt's outcome (see ``record_attempt``)."""
    if state == "sent":
        ALERTS_SENT.labels(channel=channel).inc()
    elif state in ("pending", "dead"):
        ALERTS_FAILED.labels(channel=channel, state=state).inc()


class LiveCollector(Collector):
    """Gauges read when scraped: model version and outbox depth."""

    def __init__(
        self,
        *,
        model_version: Callable[[], str | None] | None = None,
        outbox_pending: Callable[[], int] | None = None,
    ) -> None:
        self._model_version = model_version
        self._outbox_pending = outbox_pending

    def collect(self) -> Iterable[Metric]:
        """Yield the gauges this process can read."""
        if self._model_version is not None:
            version = self._model_version()
            info = GaugeMetricFamily(
                "stallwatch_model_info",
                "The stall model version served (1); no series when none is.",
                labels=["version"],
            )
            if version is not None:
                info.add_metric([version], 1.0)
            yield info
            yield GaugeMetricFamily(
                "stallwatch_model_loaded",
                "1 when a stall model is served, 0 when ranking by SLA rules alone.",
                value=0.0 if version is None else 1.0,
            )
        if self._outbox_pending is not None:
            yield GaugeMetricFamily(
                "stallwatch_outbox_pending",
                "Alert messages waiting for delivery (pending or being sent).",
                value=float(self._outbox_pending()),
            )


class _Forward(Collector):
    """Collect another registry's metrics (this process's, in single-process mode)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        yield from self._registry.collect()


def scrape_registry(live: Collector | None = None) -> CollectorRegistry:
    """Return a registry holding every process's counters and ``live``'s gauges."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder is not None:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_Forward(REGISTRY))
    if live is not None:
        registry.register(live)
    return registry


def render(live: Collector | None = None) -> bytes:
    """Return the metrics in Prometheus text format."""
    return generate_latest(scrape_registry(live))


def serve_worker_metrics(host: str, port: int, live: Collector) -> None:
    """Serve the alert worker's metrics on ``host:port`` in a daemon thread."""
    start_http_server(port, addr=host, registry=scrape_registry(live))
    log.info("worker_metrics_listening", extra={"host": host, "port": port})
