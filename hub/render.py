"""Readable terminal output for lineage, impact and store summaries (rich)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.table import Table
from rich.tree import Tree

from auth.public_clients import PublicClient
from auth.store import OAuthClient
from connectors.csv.preview import PreviewReport
from graph.lineage import Direction, Impact, Lineage
from graph.model import Batch
from graph.quality.readiness import Readiness
from graph.store import GraphCounts, StoredNode
from hub.ingest.pipeline import IngestReport
from hub.ingest.push import PushResult
from hub.records.audit import AuditEntry


def counts_table(counts: GraphCounts, title: str) -> Table:
    table = Table(title=title)
    table.add_column("what")
    table.add_column("count", justify="right")
    for kind, count in sorted(counts.nodes.items()):
        table.add_row(f"{kind} nodes", f"{count:,}")
    for edge_kind, count in sorted(counts.edges.items()):
        table.add_row(f"{edge_kind} edges", f"{count:,}")
    return table


def describe(node_id: str, nodes: dict[str, StoredNode]) -> str:
    stored = nodes.get(node_id)
    if stored is None or not isinstance(stored.record, Batch):
        return node_id
    lot = stored.record
    details = [
        str(value)
        for value in (lot.material_code, lot.status, lot.manufactured_on)
        if value is not None
    ]
    suffix = f"  [dim]{' · '.join(details)}[/dim]" if details else ""
    return f"[bold]{lot.number}[/bold] at {lot.maker}{suffix}  [dim]{node_id}[/dim]"


def lineage_tree(lineage: Lineage, nodes: dict[str, StoredNode]) -> Tree:
    """The genealogy as a tree from the root; a lot reached twice is shown once."""
    upstream = lineage.direction is not Direction.DOWNSTREAM
    children: dict[str, list[tuple[str, str]]] = {}
    for edge in lineage.edges:
        parent, child = (edge.source, edge.target) if upstream else (edge.target, edge.source)
        amount = f" {edge.quantity:g} {edge.unit or ''}".rstrip() if edge.quantity else ""
        children.setdefault(parent, []).append((child, f"{edge.kind}{amount}"))
    title = "upstream" if upstream else "downstream"
    tree = Tree(f"{title} lineage of {describe(lineage.root, nodes)}")
    shown = {lineage.root}

    def grow(branch: Tree, node_id: str) -> None:
        for child, label in sorted(children.get(node_id, [])):
            if child in shown:
                branch.add(f"[dim]{label} → {child} (shown above)[/dim]")
                continue
            shown.add(child)
            grow(branch.add(f"[cyan]{label}[/cyan] → {describe(child, nodes)}"), child)

    grow(tree, lineage.root)
    if lineage.truncated:
        tree.add(f"[yellow]… cut at depth {lineage.max_depth}[/yellow]")
    return tree


def impact_table(impact: Impact) -> Table:
    table = Table(title=f"impact of {impact.root}")
    table.add_column("affected")
    table.add_column("ids")
    table.add_row(f"batches ({len(impact.batches)})", "\n".join(n.id for n in impact.batches))
    table.add_row("products", "\n".join(impact.products))
    table.add_row("vendors", "\n".join(impact.vendors))
    table.add_row("agreements", "\n".join(impact.agreements))
    return table


def readiness_table(readiness: Readiness, title: str) -> Table:
    """Each check an inspector would make, its verdict and why, worst first."""
    colours = {"PASS": "green", "WARN": "yellow", "FAIL": "red"}
    table = Table(title=f"{title}: {readiness.status.value} as of {readiness.as_of}")
    for column in ("check", "status", "why", "evidence"):
        table.add_column(column, overflow="fold")
    order = {"FAIL": 0, "WARN": 1, "PASS": 2}
    for check in sorted(readiness.checks, key=lambda c: order[c.status.value]):
        colour = colours[check.status.value]
        evidence = "\n".join(item.id for item in check.evidence[:3])
        more = len(check.evidence) - 3
        table.add_row(
            check.name,
            f"[{colour}]{check.status.value}[/{colour}]",
            check.message,
            evidence + (f"\n… and {more} more" if more > 0 else ""),
        )
    return table


def ingest_table(reports: Sequence[IngestReport], paths: Sequence[Path]) -> Table:
    table = Table(title="ingestions")
    counts = ("records", "applied", "rejected", "warned")
    for column in ("file", "ingestion", "status", *counts):
        table.add_column(column, justify="right" if column in counts else "left", overflow="fold")
    colours = {"APPLIED": "green", "PARTIAL": "yellow"}
    for report, path in zip(reports, paths, strict=True):
        colour = colours.get(report.status.value, "red")
        table.add_row(
            path.name,
            report.ingestion_id,
            f"[{colour}]{report.status.value}[/{colour}]",
            f"{report.records:,}",
            f"{report.applied:,}",
            f"{report.rejected:,}",
            f"{report.warned:,}",
        )
    return table


def push_table(results: Sequence[PushResult]) -> Table:
    table = Table(title="push")
    for column in ("file", "outcome", "ingestion", "status", "detail"):
        table.add_column(column, no_wrap=column == "ingestion")
    for result in results:
        colour = {"sent": "green", "already sent": "dim"}.get(result.outcome, "red")
        table.add_row(
            result.path.name,
            f"[{colour}]{result.outcome}[/{colour}]",
            result.ingestion_id or "",
            result.status or "",
            result.detail,
        )
    return table


def preview_table(report: PreviewReport) -> Table:
    table = Table(title=f"{report.sample_path.name} through {report.profile_path.name}")
    table.add_column("where")
    table.add_column("kind")
    table.add_column("id")
    table.add_column("attributes")
    for record in report.records:
        attributes = ", ".join(f"{key}={value}" for key, value in record.properties.items())
        table.add_row(record.location, record.kind, record.id, attributes)
    return table


def clients_table(clients: Sequence[OAuthClient]) -> Table:
    table = Table(title="OAuth clients")
    for column in ("client id", "organization", "kind", "scopes", "created", "revoked"):
        table.add_column(column, overflow="fold")
    for client in clients:
        table.add_row(
            client.client_id,
            client.org_id,
            client.org_kind or "",
            " ".join(sorted(client.scopes)),
            f"{client.created_at:%Y-%m-%d %H:%M}",
            f"{client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "",
        )
    return table


def public_clients_table(clients: Sequence[PublicClient]) -> Table:
    table = Table(title="Public clients (people sign in to these)")
    for column in ("client id", "redirect URIs", "created", "revoked"):
        table.add_column(column, overflow="fold")
    for client in clients:
        table.add_row(
            client.client_id,
            " ".join(client.redirect_uris),
            f"{client.created_at:%Y-%m-%d %H:%M}" if client.created_at else "built in",
            f"{client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "",
        )
    return table


def audit_table(entries: Sequence[AuditEntry]) -> Table:
    table = Table(title="Audit trail")
    for column in ("#", "at (UTC)", "organization", "client", "action", "target", "outcome"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.seq),
            f"{entry.at:%Y-%m-%d %H:%M:%S}",
            entry.actor.org,
            entry.actor.client or "",
            entry.action,
            entry.target,
            entry.outcome,
        )
    return table
