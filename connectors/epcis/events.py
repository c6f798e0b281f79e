"""What an EPCIS event means for the lineage graph.

Only lots matter to genealogy: an event that names no lot (serialised items, pallets,
sensor readings) yields nothing. For an event that does:

- every lot named becomes a ``Batch`` of its maker, the owner of the GTIN's GS1
  company prefix (``Owners``), with the GTIN as its material code;
- commissioning (an ObjectEvent with that business step, or the outputs of a
  TransformationEvent) adds what ``ilmd`` says: expiry (or best-before) date, plus
  the quantity made and the site (``bizLocation``, else ``readPoint``) when that site
  is the maker's own;
- a TransformationEvent gives a ``CONSUMED`` edge from each output lot to each input
  lot, with the input's quantity;
- shipping gives ``SHIPPED_TO`` edges from each lot to the destination owner
  (``owning_party``, else ``possessing_party``) and to the destination ``location``;
  the location becomes a ``Site`` record too unless it is another known
  organization's (the receiver describes its own sites; the edge names it). A maker
  ships its own lot; anyone else (a distributor shipping a pallet a packager packed)
  ships the lot as it holds it (below);
- receiving makes the lot as received a ``Batch`` of the receiver (the destination
  owner, else the organization pushing the file), same number, with a ``SAME_LOT``
  edge to the maker's lot: this is what lets lineage cross from one vendor to another
  (a receiver books in a mapped maker's lot without describing the maker's: that lot
  is its maker's to describe, named here only as the edge's far end);
- an AggregationEvent only packs things into a container: a lot does not change by
  being put on a pallet, so it adds no genealogy beyond the rules above when its
  child quantities name lots (its business step still counts: lots received on a
  pallet are received);
- ``readPoint`` and ``bizLocation`` of such an event become ``Site`` records;
- an organization that did not make a lot (packing, shipping or observing another
  mapped maker's lot) speaks of the lot as it holds it: its own ``Batch`` of the same
  number with a ``SAME_LOT`` edge to the maker's (what receiving makes), and any
  ``SHIPPED_TO`` from there, since only a lot's owner may assert its edges
  (``graph.trust``). A lot of an unmapped prefix (``gs1-<prefix>``) is taken as
  named: no partner can push as that maker.

Serials and containers resolve to lots through ``lots.Traced``, across pushes: each
event yields notes (``connectors.traces``) of the serials it commissioned in a lot,
what it packed into a container and where it sits, which the hub keeps for later
pushes.

An event carrying an ``errorDeclaration`` declares that it (the event with its id)
was wrong: it yields no records, but a ``Retraction`` of what each earlier statement
of that event asserted (``ParseContext.heard``, or earlier in this document), which
the pipeline applies after this payload's records (``graph.retraction``); a
retraction of an event the hub never heard of is a warning, nothing else.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.base import Outcome, ParseContext
from connectors.epcis.facts import EventFacts, Located
from connectors.epcis.gs1 import Owners, Place, place, stated_prefixes
from connectors.epcis.lots import LotCollector, NamedLot, Traced, unknown_prefix
from connectors.field_values import date_of
from connectors.record_building import build
from connectors.traces import Packed, Stated, StatedEvent
from graph.ids import NodeKind, make_id
from graph.intake import RecordRejection, RecordWarning
from graph.model import Batch, Edge, EdgeKind, Site
from graph.retraction import Retraction

# ilmd elements (by local name) giving a lot's expiry, in order of preference.
EXPIRY_FIELDS = ("itemExpirationDate", "bestBeforeDate")


class EventMapper:
    def __init__(
        self,
        context: ParseContext,
        company_prefixes: Mapping[str, str],
        ilmd_lot_fields: tuple[str, ...],
    ) -> None:
        self.context = context
        self.company_prefixes = company_prefixes
        self.ilmd_lot_fields = ilmd_lot_fields
        # Organizations the prefixes map: makers that may push for themselves.
        self.mapped_makers = frozenset(company_prefixes.values())
        self.traced = Traced(context.heard)  # serials and containers, across pushes
        self.stated: dict[str, StatedEvent] = {}  # event id -> its place, in this document

    def outcomes(self, event: EventFacts) -> Iterator[Outcome]:
        if event.retracted:
            yield from self._retractions(event)
            return
        if event.event_id is not None:
            yield Stated(event.event_id, event.place)
            here = StatedEvent(self.context.ingestion_id, event.place, self.context.org)
            self.stated.setdefault(event.event_id, here)
        yield from self._mapped(event)

    def _mapped(self, event: EventFacts) -> Iterator[Outcome]:
        owners = Owners(self.company_prefixes, stated_prefixes(event.identifiers()))
        lots = LotCollector(event, owners, self.ilmd_lot_fields, self.traced)
        if event.kind == "TransformationEvent":
            inputs = lots.collect(("inputEPCList",), ("inputQuantityList",), with_ilmd=False)
            outputs = lots.collect(("outputEPCList",), ("outputQuantityList",), with_ilmd=True)
            yield from lots.problems
            yield from lots.commissioned
            if inputs or outputs:
                yield from self._transformation(event, owners, inputs, outputs)
            return
        named = lots.collect(
            ("epcList", "childEPCs"),
            ("quantityList", "childQuantityList"),
            with_ilmd=event.kind == "ObjectEvent",  # the one other event type with ilmd
        )
        yield from lots.problems
        yield from lots.commissioned
        if event.kind == "AggregationEvent" and event.parent_id is not None and named:
            container, unpacked = event.parent_id.value.strip(), event.action == "DELETE"
            packed = [lot.traced for lot in named]
            self.traced.pack(container, packed, unpacked)
            yield Packed(container, tuple(packed), unpacked, event.place)
        if not named:
            return
        sites = yield from self._sites(event, owners)
        made: Made | None = None
        if event.biz_step == "commissioning":
            made = yield from self._made(event, sites)
        for lot in named:
            named_batch = build(Batch, self.context, lot.location, **_batch_fields(lot, made))
            batch: Batch | None = None
            anothers = (
                named_batch if isinstance(named_batch, Batch) and self._anothers(lot) else None
            )
            if anothers is not None and event.biz_step == "receiving":
                # The maker's lot is the maker's to describe: the receipt names it only
                # as the far end of its SAME_LOT claim (``_received``).
                batch = anothers
            elif anothers is not None and event.biz_step != "commissioning":
                batch = yield from self._held(event, lot, anothers)  # only a maker commissions
            else:
                yield named_batch
                batch = named_batch if isinstance(named_batch, Batch) else None
            if batch is None:
                continue
            if event.biz_step == "shipping":
                yield from self._shipped(event, owners, lot, batch)
            elif event.biz_step == "receiving":
                yield from self._received(event, owners, lot, batch)

    def _transformation(
        self, event: EventFacts, owners: Owners, inputs: list[NamedLot], outputs: list[NamedLot]
    ) -> Iterator[Outcome]:
        sites = yield from self._sites(event, owners)
        made = yield from self._made(event, sites)
        consumed: list[tuple[NamedLot, Batch]] = []
        for lot in inputs:
            batch = build(Batch, self.context, lot.location, **_batch_fields(lot, None))
            yield batch
            if isinstance(batch, Batch):
                consumed.append((lot, batch))
        if inputs and not outputs:
            yield RecordRejection(
                event.location,
                "outputQuantityList",
                "the transformation consumed lots but names no output lot (its outputs are "
                "serial numbers or classes without a lot), so its CONSUMED edges cannot be "
                "recorded; name the output lot as an LGTIN, a Digital Link or in ilmd",
            )
        for output in outputs:
            product = build(Batch, self.context, output.location, **_batch_fields(output, made))
            yield product
            if isinstance(product, Batch):
                for lot, batch in consumed:
                    if batch.id != product.id:  # reworking a lot into itself is no genealogy
                        yield self._edge(EdgeKind.CONSUMED, product.id, batch.id, lot, event)

    def _made(self, event: EventFacts, sites: dict[str, str]) -> Generator[Outcome, None, Made]:
        """What commissioning says of the lots it makes: the expiry date from ilmd (a
        bad one is reported once and left out) and the sites it happened at."""
        for name in EXPIRY_FIELDS:
            found = event.ilmd.get(name)
            if found is None:
                continue
            try:
                return Made(date_of(found.value), sites)
            except ValueError:
                yield RecordRejection(
                    found.location,
                    f"ilmd.{name}",
                    f"not a date: {found.value!r}; the lots land without an expiry date",
                )
                break
        return Made(None, sites)

    def _shipped(
        self, event: EventFacts, owners: Owners, lot: NamedLot, batch: Batch
    ) -> Iterator[Outcome]:
        parties = _of_type(event.destinations, "owning_party") or _of_type(
            event.destinations, "possessing_party"
        )
        locations = _of_type(event.destinations, "location")
        if not parties and not locations:
            yield RecordRejection(
                event.location,
                "destinationList",
                "a shipping event without a destination (owning_party, possessing_party or "
                "location): the lot's SHIPPED_TO edge has no far end",
            )
            return
        for party in parties:
            org = self._org(party, owners)
            if isinstance(org, RecordRejection):
                yield org
            else:
                target = make_id(NodeKind.ORGANIZATION, org)
                yield self._edge(EdgeKind.SHIPPED_TO, batch.id, target, lot, event)
        for location in locations:
            site = self._site(location, owners, "destinationList")
            if (
                isinstance(site, Site)
                and site.org != self.context.org
                and (site.org in self.mapped_makers or site.org in self.context.glns.values())
            ):
                pass  # the receiver's site is the receiver's to describe: the edge names it
            elif site is not None:
                yield site
            if isinstance(site, Site):
                yield self._edge(EdgeKind.SHIPPED_TO, batch.id, site.id, lot, event)

    def _anothers(self, lot: NamedLot) -> bool:
        """Whether the pushing organization speaks of a lot another made (a mapped
        maker's: an unmapped ``gs1-`` maker cannot push for itself, so its lots are
        taken as named)."""
        return lot.maker != self.context.org and lot.maker in self.mapped_makers

    def _held(
        self, event: EventFacts, lot: NamedLot, batch: Batch
    ) -> Generator[Outcome, None, Batch | None]:
        """The pushing organization's own lot of that number (the same lot as the
        maker's ``batch``), with its ``SAME_LOT`` edge: what it may assert of a lot it
        packs or ships."""
        held = build(Batch, self.context, lot.location, maker=self.context.org, number=lot.number)
        yield held
        if not isinstance(held, Batch):
            return None
        yield self._edge(EdgeKind.SAME_LOT, held.id, batch.id, lot, event)
        return held

    def _retractions(self, event: EventFacts) -> Iterator[Outcome]:
        """What an event with an errorDeclaration takes back: every earlier statement
        of the event it re-sends (its own eventID)."""
        if event.event_id is None:
            yield RecordWarning(
                event.location,
                "errorDeclaration",
                "an event declared erroneous without an eventID names nothing to retract",
            )
            return
        earlier = [*self.context.heard.events.get(event.event_id, ())]
        if (here := self.stated.get(event.event_id)) is not None:
            earlier.append(here)
        if not earlier:
            yield RecordWarning(
                event.location,
                "errorDeclaration",
                f"no earlier ingestion stated eventID {event.event_id}: nothing to retract",
            )
            return
        provenance = self.context.provenance(event.location)
        for stated in earlier:
            yield Retraction(stated.ingestion_id, stated.place, stated.org, provenance)

    def _received(
        self, event: EventFacts, owners: Owners, lot: NamedLot, batch: Batch
    ) -> Iterator[Outcome]:
        receiver: str | RecordRejection = self.context.org
        owner = _of_type(event.destinations, "owning_party")
        if owner:
            receiver = self._org(owner[0], owners)
        if isinstance(receiver, RecordRejection):
            yield receiver
            return
        if receiver == lot.maker:
            return  # a maker receiving its own lot: no second node for it
        received = build(Batch, self.context, lot.location, maker=receiver, number=lot.number)
        yield received
        if isinstance(received, Batch):
            yield self._edge(EdgeKind.SAME_LOT, received.id, batch.id, lot, event)

    def _sites(self, event: EventFacts, owners: Owners) -> Generator[Outcome, None, dict[str, str]]:
        """Yield the Sites of readPoint and bizLocation; return org -> site code,
        bizLocation winning, for the site a maker's lots are made at."""
        codes: dict[str, str] = {}
        for found, field in ((event.read_point, "readPoint"), (event.biz_location, "bizLocation")):
            site = self._site(found, owners, field) if found is not None else None
            if isinstance(site, Site) and codes.get(site.org) == site.code:
                continue  # readPoint inside the bizLocation: one site
            if site is not None:
                yield site
            if isinstance(site, Site):
                codes[site.org] = site.code
        return codes

    def _site(self, found: Located, owners: Owners, field: str) -> Site | RecordRejection | None:
        """The Site a GLN names; None when the location is not a GLN (a partner's own URL)."""
        try:
            gln = place(found.value)
        except ValueError as error:
            return RecordRejection(found.location, field, str(error))
        if gln is None:
            return None
        org = self._place_owner(gln, owners)
        if org is None:
            return unknown_prefix(found, field, f"GLN {gln.gln}")
        return build(Site, self.context, found.location, org=org, code=gln.gln)

    def _org(self, party: Located, owners: Owners) -> str | RecordRejection:
        try:
            gln = place(party.value)
        except ValueError as error:
            return RecordRejection(party.location, "destinationList", str(error))
        org = self._place_owner(gln, owners) if gln is not None else None
        if org is None:
            what = f"GLN {gln.gln}" if gln else f"party {party.value!r}"
            return unknown_prefix(party, "destinationList", what)
        return org

    def _place_owner(self, gln: Place, owners: Owners) -> str | None:
        """Whose a GLN is: registered with the hub as a GLN of an organization, else the
        owner of its company prefix; None when neither can be told."""
        registered = self.context.glns.get(gln.gln)
        if registered is not None:
            return registered
        prefix = owners.prefix_of(gln)
        return owners.org_of(prefix) if prefix is not None else None

    def _edge(
        self, kind: EdgeKind, source: str, target: str, lot: NamedLot, event: EventFacts
    ) -> Outcome:
        return build(
            Edge,
            self.context,
            lot.location,
            kind=kind,
            source=source,
            target=target,
            quantity=lot.quantity,
            unit=lot.unit,
            occurred_on=event.occurred_on,
        )


@dataclass(frozen=True, slots=True)
class Made:
    """What commissioning adds to the lots it makes."""

    expires_on: date | None
    sites: dict[str, str]  # org -> code of the site the event happened at


def _batch_fields(lot: NamedLot, made: Made | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"maker": lot.maker, "number": lot.number, "material_code": lot.gtin}
    if made is not None:  # lot size and expiry belong to the lot as made, not as moved
        fields.update(
            expires_on=made.expires_on,
            quantity=lot.quantity,
            unit=lot.unit,
            site_code=made.sites.get(lot.maker),
        )
    return fields


def _of_type(parties: list[tuple[str | None, Located]], kind: str) -> list[Located]:
    return [found for party_type, found in parties if party_type == kind]
