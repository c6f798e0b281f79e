"""``partnerhub demo``: the demo network in the embedded store, and what it answers."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from auth.service import AuthService
from graph.ids import NodeKind, make_id
from graph.lineage import Direction
from graph.quality.readiness import readiness
from graph.sql.store import SqlGraphStore
from graph.store import GraphStore
from graph.visibility import Visibility
from hub.demo.exports import OPERATOR, Export, demo_exports, demo_identifiers
from hub.demo.story import (
    CONTAMINATED_EXCIPIENT_LOT_ID,
    DEMO_DAY,
    DEMO_PARTNERS,
    FINISHED_LOT_ID,
    SPONSOR_ORG_ID,
    TABLET_PRODUCT_ID,
    demo_records,
)
from hub.ingest.pipeline import IngestPipeline, IngestReport
from hub.ingest.worker import IngestWorker
from hub.records import identifiers
from hub.records.audit import Actor, auth_changes, deliveries_trail
from hub.records.database import migrate
from hub.records.ledger import Delivery, Ledger
from hub.render import (
    counts_table,
    impact_table,
    ingest_table,
    lineage_tree,
    readiness_table,
)
from hub.settings import Settings


async def run(db: Path, ledger_db: Path, console: Console) -> None:
    """Build the demo network by pushing each partner's exports through the ingest path
    into the embedded store at ``db`` (its ledger at ``ledger_db``), then show it."""
    db.parent.mkdir(parents=True, exist_ok=True)
    store = SqlGraphStore(f"sqlite+aiosqlite:///{db}")
    ledger = Ledger(f"sqlite+aiosqlite:///{ledger_db}")
    try:
        await store.setup()
        await store.wipe()  # the demo always starts from the same story
        reports, files = await push_exports(store, ledger, db.parent / "demo-exports")
        console.print(ingest_table(reports, files))
        console.print(counts_table(await store.counts(), f"demo network in {db}"))

        lineage = await store.lineage(FINISHED_LOT_ID, Direction.UPSTREAM, 10)
        assert lineage is not None, "the demo story names its finished lot"
        nodes = await store.get_nodes([node.id for node in lineage.nodes])
        console.print(lineage_tree(lineage, nodes))

        impact = await store.impact(CONTAMINATED_EXCIPIENT_LOT_ID)
        assert impact is not None, "the demo story names its contaminated lot"
        console.print(impact_table(impact))

        # Before an inspection at Birch, Northwind asks: are we ready there for the tablet?
        birch = await readiness(
            store,
            vendor=make_id(NodeKind.ORGANIZATION, "birch"),
            product=TABLET_PRODUCT_ID,
            as_of=DEMO_DAY,
            visibility=Visibility.for_org(SPONSOR_ORG_ID),
            audit_trail=deliveries_trail(ledger.engine),
        )
        console.print(readiness_table(birch, "Northwind's inspection readiness of Birch"))
    finally:
        await store.close()
        await ledger.close()
    console.print(
        f"\nThe partners' files are in {db.parent / 'demo-exports'}. Ask it more, e.g.:\n"
        f"  HUB_STORE=sqlite:///{db} .venv/bin/partnerhub lineage '{CONTAMINATED_EXCIPIENT_LOT_ID}'"
        " --direction downstream\n"
        f"  HUB_STORE=sqlite:///{db} .venv/bin/partnerhub impact '{CONTAMINATED_EXCIPIENT_LOT_ID}'"
    )


async def push_exports(
    store: GraphStore, ledger: Ledger, folder: Path | None = None
) -> tuple[list[IngestReport], list[Path]]:
    """Register the partners' identifiers, then receive and apply each partner's exports
    of the demo story, in order, as that partner (held to what it owns, as every
    partner push is); ``folder`` keeps a copy of each file for people to read."""
    await ledger.setup()
    records = demo_records()
    operator = Actor("operator", "partnerhub demo")
    for known in demo_identifiers(records):
        await identifiers.add(ledger.engine, known.org, known.scheme, known.value, operator)
    worker = IngestWorker(ledger, IngestPipeline.with_registry(store, ledger.engine), name="demo")
    reports, files = [], []
    for export in demo_exports(records):
        file = Path(export.org, export.filename)
        if folder is not None:
            _keep(folder, export)
        delivery = Delivery(
            export.payload,
            export.connector,
            export.org,
            Actor(export.org, "partnerhub demo"),
            filename=export.filename,
            options=export.options,
            owner_only=export.org != OPERATOR,
        )
        received = await ledger.receive(delivery)
        job = await ledger.claim(worker.name, worker.policy.lease)
        assert job is not None and job.id == received.id, "the demo's ledger holds only its pushes"
        report = await worker.process(job)
        assert report is not None, "the embedded store is always available"
        reports.append(report)
        files.append(file)
    return reports, files


def _keep(folder: Path, export: Export) -> None:
    """A copy of the file, and its connector options (a CSV file's profile) in
    ``profiles/`` beside it, for ``partnerhub push --options "$(cat ...)"``."""
    (folder / export.org / "profiles").mkdir(parents=True, exist_ok=True)
    (folder / export.org / export.filename).write_bytes(export.payload)
    if export.options:
        options = folder / export.org / "profiles" / f"{export.filename}.json"
        options.write_text(json.dumps(export.options, indent=2) + "\n")


EXAMPLE_QUERY = (
    f'{{ lineage(batchId: "{FINISHED_LOT_ID}", direction: UPSTREAM, maxDepth: 10) '
    "{ truncated nodes { depth batch { number vendor { name } product { name } } } "
    "edges { from to kind quantity unit } } }"
)


@dataclass(frozen=True, slots=True)
class DemoClient:
    org: str
    scopes: tuple[str, ...]
    client_id: str
    client_secret: str = field(repr=False)


# The operator sees everything; each partner reads what is its own and pushes its exports.
DEMO_OPERATOR_SCOPES = ("admin", "graph:read", "ingest:write")
DEMO_PARTNER_SCOPES = ("graph:read", "ingest:write")


@dataclass(frozen=True, slots=True)
class DemoUser:
    org: str
    email: str
    password: str = field(repr=False)


def demo_email(org: str) -> str:
    return f"qa@{org}.example"


async def register_demo_clients(
    settings: Settings, password: str | None = None
) -> tuple[list[DemoClient], list[DemoUser]]:
    """A fresh client for the operator and for each partner of the story, and a person
    of each who signs in to the console (all with one password, new each run)."""
    password = password or secrets.token_urlsafe(9)
    service = AuthService.from_url(settings.database_url(), settings.auth_config(), migrate=migrate)
    service.on_change = auth_changes(service.store.engine)
    clients, users = [], []
    try:
        await service.setup()
        for org, kind, scopes in [
            ("operator", None, DEMO_OPERATOR_SCOPES),
            *((org, kind.value, DEMO_PARTNER_SCOPES) for org, kind in DEMO_PARTNERS.items()),
        ]:
            issued = await service.add_client(org, scopes, org_kind=kind)
            clients.append(DemoClient(org, scopes, issued.client.client_id, issued.secret))
            user = await service.add_user(org, demo_email(org), password, scopes, org_kind=kind)
            users.append(DemoUser(org, user.email, password))
    finally:
        await service.close()
    return clients, users


def serving_banner(settings: Settings, clients: list[DemoClient], users: list[DemoUser]) -> str:
    base = f"http://{settings.host}:{settings.port}"
    people = "\n".join(f"  {user.org:<9} {user.email:<26} {user.password}" for user in users)
    body = json.dumps({"query": EXAMPLE_QUERY})
    operator = clients[0]
    token = (
        f"TOKEN=$(curl -s -u {operator.client_id}:{operator.client_secret} "
        f"-d grant_type=client_credentials {base}/oauth/token "
        """| python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"""
    )
    partners = "\n".join(
        f"  {client.org:<9} {client.client_id}  {client.client_secret}  ({' '.join(client.scopes)})"
        for client in clients[1:]
    )
    return (
        f"\n[bold]The console: {base}/console[/bold] (sign in as a partner's person; Ctrl-C stops)\n"
        f"{people}\n"
        f"Find the contaminated excipient lot {CONTAMINATED_EXCIPIENT_LOT_ID.split('/')[-1]} under Recall "
        "(as northwind, or as operator) for its recall scope.\n"
        f"\n[bold]The API: {base}/graphql[/bold] (GraphiQL in a browser)\n"
        "Every request needs a token. As the operator, get one and ask for the finished lot's\n"
        "genealogy across Cedar, Birch, Alder and Dogwood:\n"
        f"  {token}\n"
        f'  curl -s {base}/graphql -H "authorization: Bearer $TOKEN" '
        f"-H 'content-type: application/json' -d '{body}'\n"
        '(in GraphiQL, put {"authorization": "Bearer ..."} in the headers pane)\n'
        "Each partner's client sees only what is its own (try the same query with birch's or\n"
        "oakridge's token) and pushes its own exports (partnerhub push DIR --hub "
        f"{base} --connector ... --client-id ID --client-secret SECRET):\n{partners}\n"
    )
