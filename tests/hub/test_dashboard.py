"""The Grafana dashboard (deploy/grafana/partnerhub.json) asks only for what the hub's
/metrics serves: a renamed metric fails here, not on an operator's empty panel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from graph.sql.store import SqlGraphStore
from hub.app import create_app
from hub.records.ledger import Ledger
from hub.settings import Settings
from tests.hub.support import hub_client
from tests.tokens import TokenSource

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "partnerhub.json"
# A selector's metric name: the name just before its label matchers (every query of the
# dashboard filters by the instance variable, so every selector has them).
SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\{")
LABEL_VALUES = re.compile(r"label_values\(([A-Za-z_:][A-Za-z0-9_:]*)")
SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


def queries(dashboard: dict[str, Any]) -> list[str]:
    panels = dashboard["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def served_sample_names(exposition: str) -> set[str]:
    """Every series name the exposition can hold, whether or not a sample came yet (a
    labelled counter has none until first counted)."""
    return {
        family.name + suffix
        for family in text_string_to_metric_families(exposition)
        for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))
    }


async def test_every_metric_the_dashboard_queries_is_served_at_metrics(
    tmp_path: Path, tokens: TokenSource
) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    store = SqlGraphStore(f"sqlite+aiosqlite:///{tmp_path / 'graph.sqlite'}")
    ledger = Ledger(f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite'}")
    await store.setup()
    await ledger.setup()
    app = create_app(Settings(), store=store, ledger=ledger, auth=tokens.service)
    try:
        async with hub_client(app, await tokens.bearer()) as http:
            await http.post("/graphql", json={"query": "{ nothing }"})
            scraped = await http.get("/metrics")
    finally:
        await ledger.close()
        await store.close()
    served = served_sample_names(scraped.text)

    exprs = queries(dashboard)
    asked = {name for expr in exprs for name in SELECTOR.findall(expr)}
    variables = dashboard["templating"]["list"]
    asked |= {
        name
        for variable in variables
        if variable["type"] == "query"
        for name in LABEL_VALUES.findall(variable["definition"])
    }
    assert scraped.status_code == 200
    assert 'partnerhub_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1.0' in scraped.text
    assert all(SELECTOR.search(expr) for expr in exprs), "every query names a metric"
    assert asked - served == set(), f"served: {sorted(served)}"
    # Each part of the brief has its panels: requests, latency, ingest, alerts, availability.
    assert {
        "partnerhub_http_requests_total",
        "partnerhub_http_request_duration_seconds_bucket",
        "partnerhub_graphql_errors_total",
        "partnerhub_ingestions_waiting",
        "partnerhub_ingestions_finished_total",
        "partnerhub_ingestion_lag_seconds_bucket",
        "partnerhub_alerts_delivered_total",
        "partnerhub_alert_notifications_total",
        "partnerhub_up",
    } <= asked


def test_the_dashboard_is_one_grafana_dashboard_over_a_chosen_prometheus() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]

    assert dashboard["uid"] == "partnerhub" and dashboard["title"] == "PartnerHub"
    assert len(ids) == len(set(ids)), "panel ids are unique"
    assert all(panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24 for panel in panels)
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"] and panel["description"], panel["title"]
