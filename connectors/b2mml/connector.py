"""``mes.b2mml``: B2MML / BatchML exports (ISA-95 / ISA-88) from a partner's MES.

Versions V0401 to current read alike: elements are matched by local name, so the
namespace (``http://www.wbf.org/xml/B2MML-V0401``, ``.../B2MML-V0600``, ``.../B2MML``)
or its absence does not matter. The document is streamed and handled elements are
dropped, so memory stays flat however many lots it holds. Every record carries the
path and line it was read from.

What becomes what (the maker of every lot is the partner that pushed the export):

- ``MaterialDefinition`` → Material (ID, first Description); each ``MaterialLotID`` it
  lists → a Batch of that material.
- ``MaterialLot`` / ``MaterialSubLot`` → Batch: ID, MaterialDefinitionID (a sub-lot
  inherits its lot's), the site from its HierarchyScope (the EquipmentID of the scope
  at level Site), Status through the status vocabulary, the first Quantity, and
  dates from properties the lot-property vocabulary names (``ExpiryDate``...). A sub-lot
  is a Batch of its own with a PART_OF edge to the lot (or sub-lot) it was split from:
  a part of that lot, not the same lot (it has its own status and quantity), so lineage
  and recall scope run through it, and compliance judges the whole lot.
- A supplier's lot number on a lot or an actual (a property such as ``SupplierLotID``,
  the supplier in another such as ``Supplier``) → SAME_LOT from the received lot to
  ``batch:<supplier>/<supplier lot>``, the supplier named through ``supplier_orgs`` or
  else ``org_slug``. A supplier lot without a supplier is rejected: no link can be made.
- ``SegmentResponse`` / ``JobResponse`` actuals (``MaterialConsumedActual`` and
  ``MaterialProducedActual`` in V0401, ``MaterialActual`` with ``MaterialUse`` later) →
  a Batch for each lot named, and a CONSUMED edge from every produced lot to every
  consumed lot of the same response, with the consumed quantity and unit (summed when
  one lot is consumed twice in one unit; left out when an actual names several lots).
  Only a response's own actuals count: a nested response is a segment of its own.
  Genealogy is kept at lot level: an actual naming a lot and its sub-lots links the
  lot, and the sub-lots to it.
- A segment that consumed lots but names nothing it produced (a dispensing or weighing
  step) still consumed them into the run it is part of: within a ``ProductionResponse``
  (``OperationsResponse``, ``WorkResponse``) its consumption goes to the lots the run's
  other segments produced, and when none names its output, to the run itself, kept as
  a Batch keyed by what the export names: the run's ID (a JobResponse outside a run:
  its JobOrderID, else its ID). A lone SegmentResponse's ID names a process step shared
  by every run, not an output: its consumption is a located rejection.
- ``MaterialRequirement`` (schedules, requests) → a Batch for each lot it names, never
  an edge: a plan is not genealogy.
- BatchML ``BatchProductionRecord`` (the electronic batch record) → Batch (LotID, else
  BatchID, of the record itself, else of the control recipe it executed, directly or
  in its Header, where MES exports put them; MaterialDefinitionID, else the recipe's
  ProductID; ExpirationDate; start and release dates from its Events). ``BatchListEntry`` of type
  Batch → Batch (LotID, else BatchID, else ID; ProductID as material; ActualBatchSize;
  ActualStartTime; Status read as an ISA-88 procedural state, then the vocabulary).

Rejected, each with its place and field, the rest of the file going on: a lot,
definition or batch record without its ID; an unreadable quantity or date; an actual
naming lots but not whether they were consumed or produced. A status word outside the
vocabulary is a *warning*: the lot is kept with the word as written (``status_text``)
and no status, since losing the lot would lose its genealogy too.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from connectors.b2mml.words import (
    BATCH_STATES,
    DEFAULT_LOT_PROPERTIES,
    DEFAULT_STATUS_WORDS,
    EVENT_DATES,
    LotField,
)
from connectors.base import Connector, Outcome, ParseContext
from connectors.field_values import date_of, finite_number
from connectors.record_building import build
from connectors.vocabulary import word_key
from connectors.xml import Streamed, child, children, local_name, stream, text_of
from graph.intake import RecordRejection, RecordWarning
from graph.model import Batch, BatchStatus, Edge, EdgeKind, Material, Slug

LOTS = ("MaterialLot", "MaterialSubLot")
RESPONSES = ("SegmentResponse", "JobResponse")
# The report of one production run, whose segments are the responses above.
RUNS = ("ProductionResponse", "OperationsResponse", "WorkResponse")
HANDLED = frozenset(
    {"MaterialDefinition", *LOTS, *RESPONSES, *RUNS, "MaterialRequirement"}
    | {"BatchProductionRecord", "BatchListEntry"}
)
CONTROL_RECIPES = frozenset({"ControlRecipe", "ControlRecipeRecord"})
ACTUAL_USE = {"MaterialConsumedActual": "consumed", "MaterialProducedActual": "produced"}


class B2mmlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status_words: dict[str, BatchStatus | None] = Field(
        default_factory=dict,
        description="The partner's lot status words, added to and overriding the defaults "
        "(case, spaces and punctuation ignored); null marks a word that carries no status.",
    )
    lot_properties: dict[str, LotField] = Field(
        default_factory=dict,
        description="Property IDs naming a lot's dates, supplier or supplier lot, added to "
        "the defaults (ExpiryDate, ManufactureDate, SupplierLotID, Supplier...).",
    )
    supplier_orgs: dict[str, Slug] = Field(
        default_factory=dict,
        description="The partner's supplier names or codes to PartnerHub organization ids, "
        "so that received lots meet their maker's lots; unlisted names are slugged.",
    )


class _Refused(Exception):
    """One field spoils the record being read; becomes a RecordRejection."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(slots=True)
class _Consumption:
    quantity: float | None
    unit: str | None
    location: str

    def add(self, quantity: float | None, unit: str | None) -> None:
        if self.quantity is not None and quantity is not None and unit == self.unit:
            self.quantity += quantity
        else:  # amounts in different units (or unknown) do not add up
            self.quantity = self.unit = None


@dataclass(slots=True)
class _Run:
    """What the segments of one open production run produced, and what those that
    produced nothing named consumed (lot id -> amount), until the run ends."""

    produced: list[str]
    unplaced: dict[str, _Consumption]


class B2mmlConnector(Connector):
    name = "mes.b2mml"
    media_types = ("application/xml", "text/xml")
    Options = B2mmlOptions
    description = "B2MML / BatchML XML: material lots, sub-lots, actuals, batch records"
    options: B2mmlOptions

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        reader = _Reader(self.options, context)
        for item in stream(payload, HANDLED):
            yield from reader.handle(item)


class _Reader:
    def __init__(self, options: B2mmlOptions, context: ParseContext) -> None:
        self.context = context
        self.org = context.org
        self.status_words = DEFAULT_STATUS_WORDS | {
            word_key(word): status for word, status in options.status_words.items()
        }
        self.lot_properties = DEFAULT_LOT_PROPERTIES | {
            word_key(name): role for name, role in options.lot_properties.items()
        }
        self.supplier_orgs = {name.casefold(): org for name, org in options.supplier_orgs.items()}
        # Keyed by the run's element: lxml hands back the same proxy while it is held.
        self.runs: dict[etree._Element, _Run] = {}

    def handle(self, item: Streamed) -> Iterator[Outcome]:
        name = local_name(item.element)
        try:
            if name == "MaterialDefinition":
                yield from self.definition(item)
            elif name in LOTS:
                yield from self.lot(item)
            elif name in RESPONSES:
                yield from self.response(item)
            elif name in RUNS:
                yield from self.run_ended(item)
            elif name == "MaterialRequirement":
                yield from self.named_lots(item, item.element, None, None)
            elif name == "BatchProductionRecord":
                yield from self.production_record(item)
            else:
                yield from self.batch_list_entry(item)
        except _Refused as refused:
            yield RecordRejection(item.location, refused.field, refused.message)

    def definition(self, item: Streamed) -> Iterator[Outcome]:
        element = item.element
        code = text_of(child(element, "ID"))
        if code is None:
            raise _Refused("ID", "a MaterialDefinition needs an ID (the item code)")
        name = text_of(child(element, "Description"))
        yield build(Material, self.context, item.location, org=self.org, code=code, name=name)
        for lot in children(element, "MaterialLotID"):
            if number := text_of(lot):
                yield self.batch(item.location_of(lot), number, material_code=code)

    def lot(self, item: Streamed) -> Iterator[Outcome]:
        element = item.element
        kind = local_name(element)
        number = text_of(child(element, "ID"))
        if number is None:
            raise _Refused("ID", f"a {kind} needs an ID (its lot number)")
        properties = self.properties(element)
        fields: dict[str, Any] = self.quantity(element)
        if status := text_of(child(element, "Status")):
            fields["status_text"] = status
            fields["status"] = yield from self.status(item, child(element, "Status"), status)
        for role, (value, prop) in properties.items():
            if role not in ("supplier", "supplier_lot"):
                fields[role] = _date(value, f"{local_name(prop)} {text_of(child(prop, 'ID'))}")
        if site := _site_of(element):
            fields["site_code"] = site
        material = next(
            filter(
                None, (text_of(child(lot, "MaterialDefinitionID")) for lot in _lot_chain(element))
            ),
            None,
        )
        batch = self.batch(item.location, number, material_code=material, **fields)
        yield batch
        if isinstance(batch, RecordRejection):
            return
        if kind == "MaterialSubLot":
            parent = element.getparent()
            whole = (
                text_of(child(parent, "ID"))
                if parent is not None and local_name(parent) in LOTS
                else None
            ) or text_of(child(element, "MaterialLotID"))
            if whole:
                yield self.edge(EdgeKind.PART_OF, batch.id, self.org, whole, item.location)
        yield from self.supplier_link(item, batch.id, properties)

    def response(self, item: Streamed) -> Generator[Outcome, None, None]:
        consumed: dict[str, _Consumption] = {}
        produced: list[str] = []
        for actual in item.element:
            name = local_name(actual)
            if name == "MaterialActual":
                use_word = text_of(child(actual, "MaterialUse"))
                use = word_key(use_word) if use_word else None
            elif name in ACTUAL_USE:
                use = ACTUAL_USE[name]
            else:
                continue
            where = item.location_of(actual)
            if use not in ("consumed", "produced"):
                lots = _named(actual, "MaterialLotID") or _named(actual, "MaterialSubLotID")
                if use is None and lots:
                    yield RecordRejection(
                        where,
                        "MaterialUse",
                        f"names lot {lots[0][1]!r} but not whether it was Consumed or Produced",
                    )
                continue  # consumables, samples, carriers: not genealogy
            try:
                amount = self.quantity(actual)
            except _Refused as refused:
                yield RecordRejection(where, refused.field, refused.message)
                continue
            quantity, unit = amount.get("quantity"), amount.get("unit")
            if use == "produced":
                produced += yield from self.named_lots(item, actual, quantity, unit)
                continue
            ids = yield from self.named_lots(item, actual, None, None)
            for batch_id in ids:
                single = len(ids) == 1  # an actual's amount is for all the lots it names
                known = consumed.get(batch_id)
                if known is None:
                    consumed[batch_id] = _Consumption(
                        quantity if single else None, unit if single else None, where
                    )
                else:
                    known.add(quantity if single else None, unit)
        run = self.run_of(item.element)
        if run is not None:
            run.produced += produced
        if produced or not consumed:
            yield from self.consumptions(produced, consumed)
        elif run is not None:  # placed when the run ends, once its outputs are known
            for source, consumption in consumed.items():
                known = run.unplaced.get(source)
                if known is None:
                    run.unplaced[source] = consumption
                else:
                    known.add(consumption.quantity, consumption.unit)
        elif local_name(item.element) == "JobResponse":
            own = yield from self.run_batch(item, item.element, ("JobOrderID", "ID"))
            yield from self.consumptions(own, consumed)
        else:  # a segment's ID names a process step ("Dispense"), shared by every run
            yield RecordRejection(
                item.location,
                "MaterialActual",
                "consumed lots but names no output and belongs to no ProductionResponse or "
                "JobResponse, so what they went into cannot be told",
            )

    def run_of(self, response: etree._Element) -> _Run | None:
        run = next((a for a in response.iterancestors() if local_name(a) in RUNS), None)
        if run is None:
            return None
        return self.runs.setdefault(run, _Run([], {}))

    def run_ended(self, item: Streamed) -> Generator[Outcome, None, None]:
        run = self.runs.pop(item.element, None)
        if run is None or not run.unplaced:
            return
        outputs = list(dict.fromkeys(run.produced))
        if not outputs:
            outputs = yield from self.run_batch(item, item.element, ("ID",))
        yield from self.consumptions(outputs, run.unplaced)

    def run_batch(
        self, item: Streamed, element: etree._Element, names: tuple[str, ...]
    ) -> Generator[Outcome, None, list[str]]:
        """The Batch of a run (or response) whose output the export does not name,
        keyed by the first of ``names`` it has; none: the consumption cannot be placed."""
        for name in names:
            found = child(element, name)
            if number := text_of(found):
                assert found is not None  # it has text
                batch = self.batch(item.location_of(found), number)
                yield batch
                return [] if isinstance(batch, RecordRejection) else [batch.id]
        yield RecordRejection(
            item.location,
            names[-1],
            f"consumed lots but names no output, and has no {' or '.join(names)} to key it by",
        )
        return []

    def consumptions(
        self, outputs: list[str], consumed: dict[str, _Consumption]
    ) -> Iterator[Outcome]:
        for output in dict.fromkeys(outputs):
            for source, consumption in consumed.items():
                if source != output:  # a lot passing through a segment did not consume itself
                    yield build(
                        Edge,
                        self.context,
                        consumption.location,
                        kind=EdgeKind.CONSUMED,
                        source=output,
                        target=source,
                        quantity=consumption.quantity,
                        unit=consumption.unit,
                    )

    def named_lots(
        self, item: Streamed, holder: etree._Element, quantity: float | None, unit: str | None
    ) -> Generator[Outcome, None, list[str]]:
        """Batches for the lots an actual or a requirement names, and the sub-lots' links
        to their lot; returns the ids genealogy should use (the lots, else the sub-lots)."""
        materials = [
            text for text in map(text_of, children(holder, "MaterialDefinitionID")) if text
        ]
        material = materials[0] if len(materials) == 1 else None
        named = _named(holder, "MaterialLotID")
        single = len(named) == 1
        # A supplier lot on an actual can only be told apart when it names one lot.
        properties = self.properties(holder) if single else {}
        ids: list[str] = []
        for ref, number in named:
            batch = self.batch(
                item.location_of(ref),
                number,
                material_code=material,
                quantity=quantity if single else None,
                unit=unit if single else None,
            )
            yield batch
            if not isinstance(batch, RecordRejection):
                ids.append(batch.id)
                yield from self.supplier_link(item, batch.id, properties)
        sublot_ids: list[str] = []
        for ref, number in _named(holder, "MaterialSubLotID"):
            where = item.location_of(ref)
            batch = self.batch(where, number, material_code=material)
            yield batch
            if isinstance(batch, RecordRejection):
                continue
            sublot_ids.append(batch.id)
            if single:
                yield self.edge(EdgeKind.PART_OF, batch.id, self.org, named[0][1], where)
        return ids or sublot_ids

    def production_record(self, item: Streamed) -> Iterator[Outcome]:
        element = item.element
        recipe = _executed_recipe(element)
        number = _first_text((element, recipe), ("LotID", "BatchID"))
        if number is None:
            raise _Refused(
                "LotID",
                "a BatchProductionRecord needs a LotID or a BatchID, of its own or in the "
                "control recipe it executed",
            )
        fields: dict[str, Any] = {}
        if expiry := text_of(child(element, "ExpirationDate")):
            fields["expires_on"] = _date(expiry, "ExpirationDate")
        events = child(element, "Events")
        for event in children(events, "Event") if events is not None else []:
            names = [child(event, part) for part in ("EventSubType", "EventType", "Description")]
            role = next((EVENT_DATES[k] for k in map(_key, names) if k in EVENT_DATES), None)
            stamp = text_of(child(event, "TimeStamp"))
            if role and stamp:
                day = _date(stamp, "Event TimeStamp")
                # The first start and the last release: a re-release after rework counts.
                earlier = fields.get(role)
                if earlier is None or (day > earlier if role == "released_on" else day < earlier):
                    fields[role] = day
        material = _first_text((element,), ("MaterialDefinitionID",)) or _first_text(
            (recipe,), ("MaterialDefinitionID", "ProductID")
        )
        yield self.batch(item.location, number, material_code=material, **fields)

    def batch_list_entry(self, item: Streamed) -> Iterator[Outcome]:
        element = item.element
        entry_type = text_of(child(element, "BatchListEntryType"))
        if entry_type and word_key(entry_type) != "batch":
            return  # unit procedures, operations, phases: steps of a batch, not lots
        number = next(
            filter(None, (text_of(child(element, n)) for n in ("LotID", "BatchID", "ID"))), None
        )
        if number is None:
            raise _Refused("BatchID", "a BatchListEntry needs a LotID, a BatchID or an ID")
        fields: dict[str, Any] = {}
        if status := text_of(child(element, "Status")):
            key = word_key(status)
            fields["status_text"] = status
            fields["status"] = (
                BATCH_STATES[key]
                if key in BATCH_STATES
                else (yield from self.status(item, child(element, "Status"), status))
            )
        if size := text_of(child(element, "ActualBatchSize")):
            fields["quantity"] = _number(size, "ActualBatchSize")
            fields["unit"] = text_of(child(element, "UnitOfMeasure"))
        if started := text_of(child(element, "ActualStartTime")):
            fields["manufactured_on"] = _date(started, "ActualStartTime")
        material = text_of(child(element, "ProductID"))
        yield self.batch(item.location, number, material_code=material, **fields)

    # Pieces shared by the handlers.

    def batch(self, location: str, number: str, **fields: Any) -> Batch | RecordRejection:
        return build(Batch, self.context, location, maker=self.org, number=number, **fields)

    def edge(
        self, kind: EdgeKind, source: str, maker: str, number: str, location: str
    ) -> Edge | RecordRejection:
        """An edge to the lot ``number`` of ``maker``, validated as a Batch key first."""
        target = build(Batch, self.context, location, maker=maker, number=number)
        if isinstance(target, RecordRejection):
            return target
        return build(Edge, self.context, location, kind=kind, source=source, target=target.id)

    def status(
        self, item: Streamed, element: etree._Element | None, word: str
    ) -> Generator[Outcome, None, BatchStatus | None]:
        """The status a word maps to. A word the vocabulary lacks does not cost the lot:
        it is kept with the word as written (``status_text``) and no status, and a
        warning says where, so the partner's word can be mapped later."""
        key = word_key(word)
        if key in self.status_words:
            return self.status_words[key]
        known = ", ".join(sorted(self.status_words))
        yield RecordWarning(
            item.location_of(element) if element is not None else item.location,
            "Status",
            f"unknown status {word!r}: the lot is kept without a status (its word in "
            f"status_text); known words (case, spaces and punctuation ignored): {known}. "
            "A partner's own words go in the status_words option.",
        )
        return None

    def quantity(self, holder: etree._Element) -> dict[str, Any]:
        for quantity in children(holder, "Quantity"):
            if text := text_of(child(quantity, "QuantityString")):
                unit = text_of(child(quantity, "UnitOfMeasure"))
                return {"quantity": _number(text, "Quantity"), "unit": unit}
        return {}

    def properties(self, holder: etree._Element) -> dict[LotField, tuple[str, etree._Element]]:
        """The first value of each property the vocabulary knows, with its element."""
        found: dict[LotField, tuple[str, etree._Element]] = {}
        for prop in holder:
            if not local_name(prop).endswith("Property"):
                continue
            role = self.lot_properties.get(_key(child(prop, "ID")))
            value_holder = child(prop, "Value")
            value = (
                text_of(child(value_holder, "ValueString")) if value_holder is not None else None
            )
            if role and value and role not in found:
                found[role] = (value, prop)
        return found

    def supplier_link(
        self,
        item: Streamed,
        received: str,
        properties: dict[LotField, tuple[str, etree._Element]],
    ) -> Iterator[Outcome]:
        if "supplier_lot" not in properties:
            return
        supplier_lot, lot_element = properties["supplier_lot"]
        where = item.location_of(lot_element)
        if "supplier" not in properties:
            yield RecordRejection(
                where,
                "Supplier",
                f"supplier lot {supplier_lot!r} is given without its supplier, so it cannot "
                "be linked to the maker's lot; add a Supplier property",
            )
            return
        supplier = properties["supplier"][0]
        try:
            maker = self.supplier_orgs.get(supplier.casefold()) or self.context.org_named(supplier)
        except ValueError as error:
            yield RecordRejection(where, "Supplier", str(error))
            return
        yield self.edge(EdgeKind.SAME_LOT, received, maker, supplier_lot, where)


def _executed_recipe(record: etree._Element) -> etree._Element | None:
    """The control recipe a batch production record executed (``ControlRecipe`` or
    ``ControlRecipeRecord``, at any depth), where MES exports put the batch's lot and
    product: the first one, since a production record is the record of one batch."""
    return next((node for node in record.iter() if local_name(node) in CONTROL_RECIPES), None)


def _first_text(holders: tuple[etree._Element | None, ...], names: tuple[str, ...]) -> str | None:
    """The first of ``names`` with text, directly in a holder or in its ``Header``."""
    for holder in holders:
        if holder is None:
            continue
        header = child(holder, "Header")
        for place in (holder, header):
            for name in names:
                if place is not None and (text := text_of(child(place, name))):
                    return text
    return None


def _named(holder: etree._Element, name: str) -> list[tuple[etree._Element, str]]:
    """The children called ``name`` that hold an identifier, with it."""
    return [(ref, number) for ref in children(holder, name) if (number := text_of(ref))]


def _lot_chain(element: etree._Element) -> Iterator[etree._Element]:
    """The lot or sub-lot and the lots it sits in, innermost first."""
    node: etree._Element | None = element
    while node is not None and local_name(node) in LOTS:
        yield node
        node = node.getparent()


def _key(element: etree._Element | None) -> str:
    text = text_of(element)
    return word_key(text) if text else ""


def _number(text: str, field: str) -> float:
    number = finite_number(text)
    if number is None:
        raise _Refused(field, f"{text!r} is not a finite number")
    return number


def _date(text: str, field: str) -> date:
    """The day as written (``date_of`` applies no time-zone shift)."""
    try:
        return date_of(text)
    except ValueError:
        raise _Refused(field, f"{text!r} is not an ISO 8601 date or date-time") from None


def _site_of(lot: etree._Element) -> str | None:
    """The site a lot is at by its ISA-95 hierarchy scope: the EquipmentID of the scope
    (or nested scope) whose EquipmentElementLevel is Site."""
    scope = child(lot, "HierarchyScope")
    while scope is not None:
        if word_key(text_of(child(scope, "EquipmentElementLevel")) or "") == "site":
            return text_of(child(scope, "EquipmentID"))
        scope = child(scope, "HierarchyScope")
    return None
