"""The ``partnerhub`` command line."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

from auth.principal import LOCAL_OPERATOR
from auth.service import AuthService
from auth.store import IssuedClient
from connectors.csv.preview import preview
from connectors.csv.profile import Profile, ProfileError
from graph.lineage import Direction
from graph.loading import load
from graph.model import Record
from graph.store import GraphStore
from hub.app import create_app
from hub.backup import commands as backup_commands
from hub.demo import launch as demo
from hub.demo.generator import canonical_lines, generate_network
from hub.ingest.pipeline import (
    IngestError,
    IngestPipeline,
    IngestReport,
    reader_for,
    refusal_report,
)
from hub.ingest.profiles import profile_by_path_or_name, with_profile
from hub.ingest.push import PushTarget, push_folder
from hub.ingest.replay import ReplaySummary
from hub.ingest.replay import replay as replay_ledger
from hub.ingest.worker import IngestWorker
from hub.notify.commands import alerts_app, webhooks_app
from hub.records import identifiers
from hub.records.audit import Actor, AuditEntry
from hub.records.audit import entries as audit_entries
from hub.records.audit import verify as verify_audit
from hub.records.database import current_revision
from hub.records.ledger import LANDED, Delivery, IngestionStatus, Ledger, Received
from hub.render import (
    audit_table,
    clients_table,
    counts_table,
    impact_table,
    ingest_table,
    lineage_tree,
    preview_table,
    public_clients_table,
    push_table,
)
from hub.settings import Settings
from hub.stores import open_graph_store
from hub.telemetry.logs import configure_logging
from hub.telemetry.tracing import exporter_named, start_tracing
from hub.users_commands import users_app
from hub.users_commands import with_auth as _with_auth
from hub.web.transport import transport_options
from schema.build import build_schema

app = typer.Typer(
    help="PartnerHub: partner exports linked into one lineage graph.", no_args_is_help=True
)
store_app = typer.Typer(help="Manage the configured graph store (HUB_STORE).", no_args_is_help=True)
app.add_typer(store_app, name="store")
clients_app = typer.Typer(help="OAuth clients of partners and tools.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
keys_app = typer.Typer(help="The hub's token signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
profile_app = typer.Typer(help="Partners' CSV mapping profiles.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
db_app = typer.Typer(help="The hub's SQL database (HUB_DATABASE).", no_args_is_help=True)
app.add_typer(db_app, name="db")
orgs_app = typer.Typer(
    help="Organizations' identifiers (GS1 company prefixes, GLNs, FEI, DUNS).",
    no_args_is_help=True,
)
app.add_typer(orgs_app, name="orgs")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(alerts_app, name="alerts")
app.add_typer(users_app, name="users")
app.command("backup")(backup_commands.backup)
app.command("restore")(backup_commands.restore)
console = Console()
T = TypeVar("T")


def _with_store(work: Callable[[GraphStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_graph_store(Settings())
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


@store_app.command("setup")
def store_setup() -> None:
    """Create the store's tables, or Neo4j's constraints and indexes (safe to repeat)."""

    async def work(store: GraphStore) -> None:
        await store.setup()

    _with_store(work)
    console.print(f"store ready: {Settings().store}")


@store_app.command("summary")
def store_summary() -> None:
    """Count nodes and edges by kind."""

    async def work(store: GraphStore) -> None:
        console.print(counts_table(await store.counts(), Settings().store))

    _with_store(work)


@app.command()
def generate(
    batches: Annotated[int, typer.Option(min=1, help="How many batches to generate.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same network.")] = 1,
    jsonl: Annotated[
        Path | None,
        typer.Option(help="Write records to this JSON-lines file instead of the store."),
    ] = None,
) -> None:
    """Generate a realistic, deterministic supply network into HUB_STORE (or a file)."""
    records = generate_network(batches, seed)
    if jsonl is not None:
        with jsonl.open("w") as out:
            out.writelines(canonical_lines(records))
        console.print(f"wrote {jsonl}")
        return

    async def work(store: GraphStore) -> None:
        await store.setup()
        with _progress() as progress:
            task = progress.add_task("records", total=None)
            summary = await load(store, records, on_chunk=lambda n: progress.advance(task, n))
        console.print(f"loaded {summary.records:,} records in {summary.chunks} transactions")
        console.print(counts_table(await store.counts(), Settings().store))

    _with_store(work)


@app.command()
def lineage(
    batch_id: Annotated[str, typer.Argument(help="e.g. batch:cedar/F-2501")],
    direction: Annotated[Direction, typer.Option(case_sensitive=False)] = Direction.UPSTREAM,
    depth: Annotated[int, typer.Option(min=0, max=50)] = 10,
) -> None:
    """Print where a lot came from (or went to)."""

    async def work(store: GraphStore) -> None:
        found = await store.lineage(batch_id, direction, depth)
        if found is None:
            console.print(f"[red]no batch {batch_id!r} in {Settings().store}[/red]")
            raise typer.Exit(1)
        nodes = await store.get_nodes([node.id for node in found.nodes])
        console.print(lineage_tree(found, nodes))

    _with_store(work)


@app.command()
def impact(batch_id: Annotated[str, typer.Argument(help="e.g. batch:dogwood/EX-1")]) -> None:
    """Print every batch, product, vendor and agreement downstream of a lot."""

    async def work(store: GraphStore) -> None:
        found = await store.impact(batch_id)
        if found is None:
            console.print(f"[red]no batch {batch_id!r} in {Settings().store}[/red]")
            raise typer.Exit(1)
        console.print(impact_table(found))

    _with_store(work)


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Export files to ingest.", exists=True, dir_okay=False)
    ],
    connector: Annotated[str, typer.Option(help="Connector name, e.g. mes.b2mml.")],
    org: Annotated[
        str, typer.Option("--as", help="Slug of the organization whose records these are.")
    ],
    options: Annotated[str, typer.Option(help="Connector options as a JSON object.")] = "{}",
    all_or_nothing: Annotated[
        bool, typer.Option(help="Refuse a file if any record is rejected.")
    ] = False,
    profile: Annotated[
        str | None, typer.Option(help="CSV mapping profile: a YAML file or a profile's name.")
    ] = None,
) -> None:
    """Ingest export files into HUB_STORE through the ledger (HUB_DATABASE), as the operator."""
    parsed_options = json.loads(options)
    if profile is not None:
        chosen = _profile_or_exit(profile, Settings().profiles_dir)
        parsed_options = with_profile(parsed_options, chosen)

    async def run() -> list[IngestReport]:
        settings = Settings()
        store = open_graph_store(settings)
        ledger = Ledger(settings.database_url())
        finished: dict[str, IngestReport] = {}
        reports = []
        try:
            await store.setup()
            await ledger.setup()
            with _progress() as progress:
                for path in paths:
                    task = progress.add_task(path.name, total=None)

                    async def advance(
                        job: Received, chunk: list[Record], task: TaskID = task
                    ) -> None:
                        progress.advance(task, len(chunk))

                    async def keep(job: Received, report: IngestReport) -> None:
                        finished[job.id] = report

                    worker = IngestWorker(
                        ledger,
                        IngestPipeline.with_registry(store, ledger.engine),
                        on_chunk=advance,
                        on_finish=keep,
                    )
                    report = await _receive_and_apply(
                        ledger,
                        worker,
                        finished,
                        Delivery(
                            payload=path.read_bytes(),
                            connector=connector,
                            org=org,
                            submitted_by=Actor.of(LOCAL_OPERATOR),
                            filename=path.name,
                            options=parsed_options,
                            all_or_nothing=all_or_nothing,
                        ),
                    )
                    progress.update(task, total=report.applied, completed=report.applied)
                    reports.append(report)
        finally:
            await ledger.close()
            await store.close()
        return reports

    reports = asyncio.run(run())
    console.print(ingest_table(reports, paths))
    for report, path in zip(reports, paths, strict=True):
        for rejection in report.rejections[:20]:
            console.print(f"[yellow]{path.name}: {rejection}[/yellow]")
        for warning in report.warnings[:20]:
            console.print(f"{path.name}: warning: {warning}")
        if report.error is not None:
            console.print(
                f"[red]{path.name}: {report.error.location}: {report.error.message}[/red]"
            )
    if any(report.status not in LANDED for report in reports):
        raise typer.Exit(1)


async def _receive_and_apply(
    ledger: Ledger, worker: IngestWorker, finished: dict[str, IngestReport], delivery: Delivery
) -> IngestReport:
    """Commit the file to the ledger, then apply the queue here (this file included)."""
    refusal = reader_for(delivery.connector, delivery.options or {})
    if isinstance(refusal, IngestError):
        received = await ledger.receive(delivery, refused=refusal_report(delivery, refusal))
        return IngestReport.refused(received, refusal)
    received = await ledger.receive(delivery)
    await worker.drain()
    if received.id in finished:
        return finished[received.id]
    # Deferred (the graph store is down) or taken by a hub's worker: it stays queued.
    report = IngestReport(received.id, delivery.connector, delivery.org, IngestionStatus.RECEIVED)
    report.error = IngestError("queued", "", "not applied yet: the hub's workers will apply it")
    return report


@app.command()
def push(
    folder: Annotated[
        Path, typer.Argument(help="Folder of export files.", exists=True, file_okay=False)
    ],
    hub: Annotated[str, typer.Option(help="The hub's base URL, e.g. https://hub.example.com")],
    connector: Annotated[str, typer.Option(help="Connector name, e.g. lims.animl.")],
    client_id: Annotated[
        str, typer.Option(envvar="PARTNERHUB_CLIENT_ID", help="Your OAuth client id.")
    ],
    client_secret: Annotated[
        str,
        typer.Option(
            envvar="PARTNERHUB_CLIENT_SECRET",
            help="Your OAuth client secret (better in the environment than on the command line).",
        ),
    ],
    options: Annotated[str, typer.Option(help="Connector options as a JSON object.")] = "{}",
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for each file's outcome (0: just queue it).")
    ] = 30.0,
) -> None:
    """Send the folder's new files to a hub, each once (remembered in the folder)."""
    target = PushTarget(
        hub=hub,
        connector=connector,
        client_id=client_id,
        client_secret=client_secret,
        options=json.loads(options),
        wait=wait,
    )
    results = push_folder(folder, target)
    console.print(push_table(results))
    if any(result.outcome == "failed" for result in results):
        raise typer.Exit(1)


@profile_app.command("check")
def profile_check(
    profile: Annotated[
        Path, typer.Argument(help="The profile (YAML).", exists=True, dir_okay=False)
    ],
    sample: Annotated[Path, typer.Argument(help="A sample export.", exists=True, dir_okay=False)],
    connector: Annotated[str, typer.Option(help="mes.csv, lims.csv or qms.csv.")],
    org: Annotated[str, typer.Option("--as", help="The partner's organization slug.")] = "partner",
    limit: Annotated[int, typer.Option(help="Mapped records to show.")] = 20,
) -> None:
    """Try a CSV mapping profile on a sample file and show the records it maps to."""
    try:
        report = preview(profile, sample, connector, org, limit)
    except (ProfileError, ValueError, OSError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(preview_table(report))
    for rejection in report.rejections[:50]:
        console.print(f"[yellow]{rejection}[/yellow]")
    if report.payload_error is not None:
        console.print(f"[red]the sample is unreadable: {report.payload_error}[/red]")
    counts = ", ".join(f"{count:,} {kind}" for kind, count in sorted(report.record_counts.items()))
    console.print(
        f"mapped {report.record_total:,} records ({counts}); {len(report.rejections):,} rejected"
    )
    if not report.ok:
        raise typer.Exit(1)


def _profile_or_exit(reference: str, profiles_dir: Path | None) -> Profile:
    try:
        return profile_by_path_or_name(reference, profiles_dir)
    except ProfileError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


@clients_app.command("add")
def clients_add(
    org: Annotated[
        str | None, typer.Option(help="The organization's slug, e.g. birch (not with --public).")
    ] = None,
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: graph:read, ingest:write, admin.")
    ] = "graph:read",
    kind: Annotated[str | None, typer.Option(help="SPONSOR, CMO, CDMO, TESTING_LAB, ...")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
    public: Annotated[
        bool,
        typer.Option(
            "--public", help="An app people sign in to (PKCE, no secret), not a partner's system."
        ),
    ] = False,
    redirect_uris: Annotated[
        list[str] | None,
        typer.Option("--redirect-uri", help="With --public: where codes go (repeat for more)."),
    ] = None,
) -> None:
    """Register a client; its secret is printed once and never stored in clear. With
    --public, an app people sign in to: no secret, only its exact redirect URIs."""
    if public:
        _add_public_client(redirect_uris or [], as_json)
        return
    if org is None:
        console.print("[red]--org is required (or --public with --redirect-uri)[/red]")
        raise typer.Exit(1)
    org_id = org

    async def work(service: AuthService) -> IssuedClient:
        granted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        return await service.add_client(org_id, granted, org_kind=kind)

    try:
        issued = _with_auth(work)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    client = issued.client
    if as_json:
        typer.echo(json.dumps({"client_id": client.client_id, "client_secret": issued.secret}))
        return
    console.print(f"client id:     {client.client_id}\nclient secret: {issued.secret}")
    console.print("[yellow]The secret is shown this once; the hub keeps only its hash.[/yellow]")


def _add_public_client(redirect_uris: list[str], as_json: bool) -> None:
    try:
        client = _with_auth(lambda service: service.add_public_client(redirect_uris))
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({"client_id": client.client_id}))
        return
    console.print(f"public client id: {client.client_id}")
    console.print(f"redirect URIs:    {' '.join(client.redirect_uris)}")


@clients_app.command("list")
def clients_list() -> None:
    """Every client: its organization, scopes, and whether it is revoked."""
    clients = _with_auth(lambda service: service.store.list_clients())
    console.print(clients_table(clients))
    public = _with_auth(lambda service: service.public_clients.list())
    console.print(public_clients_table(public))


@clients_app.command("revoke")
def clients_revoke(client_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke a client: its tokens stop working (within seconds on other replicas)."""
    if not _with_auth(lambda service: service.revoke_client(client_id)):
        console.print(f"[red]no active client {client_id!r}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {client_id}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Sign new tokens with a new key; the old key verifies until its tokens expire."""
    key = _with_auth(lambda service: service.rotate_signing_key())
    console.print(f"new signing key {key.kid}")


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Seal every signing key under HUB_KEY_ENCRYPTION_KEY: plaintext keys, and keys
    sealed under HUB_PREVIOUS_KEY_ENCRYPTION_KEYS (which may go afterwards)."""
    ring = Settings().key_ring()
    if ring is None:
        console.print("[red]set HUB_KEY_ENCRYPTION_KEY first: it is the key that seals[/red]")
        raise typer.Exit(2)
    # Opening the authorization server seals what is not sealed under the current KEK
    # (``AuthStore.setup``); the count says what is there now.
    seals = _with_auth(lambda service: service.store.key_seals())
    unsealed = sum(count for kek_id, count in seals.items() if kek_id != ring.current.kek_id)
    sealed = seals.get(ring.current.kek_id, 0)
    console.print(
        f"{sealed} signing key(s) sealed under key-encryption key {ring.current.kek_id}"
        + (f"; {unsealed} not" if unsealed else "")
    )
    if unsealed:
        raise typer.Exit(1)


def _with_ledger(work: Callable[[Ledger], Awaitable[T]]) -> T:
    async def run() -> T:
        ledger = Ledger(Settings().database_url())
        try:
            await ledger.setup()
            return await work(ledger)
        finally:
            await ledger.close()

    return asyncio.run(run())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (the hub also does this when it starts)."""

    async def work(ledger: Ledger) -> str | None:
        async with ledger.engine.connect() as conn:
            return await conn.run_sync(current_revision)

    console.print(f"database at revision {_with_ledger(work)}")


@app.command()
def replay(
    wipe: Annotated[bool, typer.Option(help="Empty the graph store first.")] = False,
) -> None:
    """Rebuild HUB_STORE from the ledger alone: every applied ingestion, in order."""
    settings = Settings()

    async def work(ledger: Ledger) -> ReplaySummary:
        store = open_graph_store(settings)
        try:
            with _progress() as progress:
                task = progress.add_task("ingestions", total=None)
                return await replay_ledger(
                    ledger,
                    store,
                    Actor.of(LOCAL_OPERATOR),
                    wipe=wipe,
                    target=settings.store_label(),
                    on_ingestion=lambda job, applied: progress.advance(task),
                )
        finally:
            await store.close()

    summary = _with_ledger(work)
    console.print(
        f"replayed {summary.ingestions} ingestions, {summary.records} records"
        f" into {settings.store_label()}"
    )
    for ingestion_id in summary.differing:
        console.print(f"[yellow]{ingestion_id} lands differently than when received[/yellow]")


@orgs_app.command("add-identifier")
def orgs_add_identifier(
    org: Annotated[str, typer.Argument(help="The organization's slug, e.g. alder.")],
    scheme: Annotated[str, typer.Argument(help="gs1-prefix, gln, fei or duns.")],
    value: Annotated[str, typer.Argument(help="The identifier, e.g. 0614141.")],
) -> None:
    """Register an identifier of an organization (audited); every later push uses it."""

    async def work(ledger: Ledger) -> bool:
        return await identifiers.add(ledger.engine, org, scheme, value, Actor.of(LOCAL_OPERATOR))

    try:
        added = _with_ledger(work)
    except identifiers.IdentifierError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{'registered' if added else 'already registered'}: {scheme} {value} of {org}")


@orgs_app.command("identifiers")
def orgs_identifiers(
    org: Annotated[str | None, typer.Argument(help="One organization; default: all.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")] = False,
) -> None:
    """The registered identifiers, by organization."""
    found = _with_ledger(lambda ledger: identifiers.of(ledger.engine, org))
    rows = [{"org": i.org, "scheme": i.scheme.value, "value": i.value} for i in found]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        console.print(f"{row['org']}\t{row['scheme']}\t{row['value']}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the chain; name the first entry that does not hold (exit 1)."""
    verdict = _with_ledger(lambda ledger: verify_audit(ledger.engine))
    if not verdict.intact:
        console.print(
            f"[red]audit trail broken at entry {verdict.broken_at}: {verdict.reason}[/red]"
        )
        raise typer.Exit(1)
    console.print(f"audit trail intact: {verdict.checked} entries")


@audit_app.command("list")
def audit_list(
    target: Annotated[str | None, typer.Option(help="Only entries about this id.")] = None,
    after: Annotated[int, typer.Option(help="Entries after this number.")] = 0,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show audit entries, oldest first."""

    async def work(ledger: Ledger) -> list[AuditEntry]:
        found = audit_entries(ledger.engine, target=target, after=after, limit=limit)
        return [entry async for entry in found]

    found = _with_ledger(work)
    if as_json:
        for entry in found:
            typer.echo(json.dumps(entry.to_json()))
        return
    console.print(audit_table(found))


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def serve() -> None:
    """Serve the GraphQL API on HUB_HOST:HUB_PORT over the configured store."""
    settings = Settings()
    _serve(settings)


@app.command("schema")
def print_schema() -> None:
    """Print the GraphQL SDL (what schema/schema.graphql holds)."""
    typer.echo(build_schema().as_str())


@app.command("demo")
def demo_command(
    db: Annotated[Path, typer.Option(help="The embedded store's file.")] = Path("var/demo.sqlite"),
    serve: Annotated[bool, typer.Option(help="Serve the API once loaded.")] = True,
) -> None:
    """Push the partners' demo exports into the embedded store, show what it answers, serve it."""
    ledger = db.with_name(db.stem + "-ledger.sqlite")
    ledger.unlink(missing_ok=True)  # fresh clients, and a ledger of the demo's pushes only
    asyncio.run(demo.run(db, ledger, console))
    if not serve:
        return
    settings = Settings(store=f"sqlite:///{db}", database=f"sqlite:///{ledger}")
    clients, users = asyncio.run(demo.register_demo_clients(settings))
    console.print(demo.serving_banner(settings, clients, users), soft_wrap=True)
    _serve(settings)


def _serve(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    if settings.tracing_on():
        start_tracing(exporter_named(settings.otel_traces_exporter))
    options = uvicorn_options(settings)
    _freeze_start_up_objects()
    uvicorn.run(**options)


def _freeze_start_up_objects() -> None:
    """Leave what start-up made (modules, the schema, the app: some 200,000 objects,
    alive for the process's life) out of the garbage collector's scans. A full
    collection walked them all, about 120 ms during which no request was served: the
    p95 of concurrent reads was that pause (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``serve`` and ``demo`` run uvicorn. On SIGTERM, requests in flight get
    HUB_SHUTDOWN_SECONDS to finish and are then cancelled, so the process ends within
    seconds even under load (uvicorn would otherwise wait for them forever)."""
    return {
        "app": create_app(settings),
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # The C event loop and HTTP parser, named so that a missing one fails at start
        # instead of falling back: on asyncio's own loop and h11, socket writes alone
        # were a fifth of a served read's CPU (docs/benchmarks.md, "PartnerHub against
        # @neo4j/graphql").
        "loop": "uvloop",
        "http": "httptools",
        # TLS, and forwarded headers only from HUB_TRUSTED_PROXIES (none by default).
        **transport_options(
            settings.trusted_proxies, settings.tls_cert_file, settings.tls_key_file
        ),
        "timeout_graceful_shutdown": settings.shutdown_seconds,  # seconds, a float works
        # A websocket message is a GraphQL operation too: no larger than a POST body.
        "ws_max_size": settings.graphql_max_body_bytes,
        # In JSON, uvicorn's lines go through the hub's handler (hub.telemetry.logs).
        **({"log_config": None} if settings.log_format == "json" else {}),
    }


if __name__ == "__main__":
    app()
