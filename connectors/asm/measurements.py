"""From one ASM measurement document to test results, the tested lot and the method.

ASM techniques differ in where results sit: a quantity straight on the measurement
("absorbance", "pH"), one per analyte ("analyte document"), many per chromatographic
peak ("peak list"), or calculated ("calculated data document"). Rather than one rule
per technique, results are found by shape: every ``{"value": ..., "unit": ...}``
object under the measurement document is a measured quantity, named by its key and
by the names of the documents it sits in ("Acetone peak area", "glucose molar
concentration"). Subtrees that hold settings, sample and device descriptions or raw
data are not results and are skipped.

Everything is walked with explicit stacks, not recursion: a deeply nested payload
cannot exhaust the interpreter's stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from connectors.field_values import text_value
from connectors.json_source import pointer
from graph.intake import RecordRejection

# Subtrees of a measurement document that describe how or on what it was measured,
# not what was measured; their quantities (injection volume, sampling rate) are settings.
NOT_RESULTS = frozenset(
    {
        "device control aggregate document",
        "sample document",
        "injection document",
        "custom information document",
        "chromatography column document",
        "data source aggregate document",
        "error aggregate document",
        "image aggregate document",
    }
)
# Which key names a document inside a list, for test names and result ids.
LABEL_KEYS = ("analyte name", "written name", "calculated data name", "name")
ID_KEYS = ("identifier", "analyte identifier", "peak identifier", "calculated data identifier")
# Where a method's name is written: standard terms first, then the terms ASM
# converters put under "custom information document" when the schema lacks them.
METHOD_KEYS = (
    "analytical method identifier",
    "measurement method identifier",
    "device acquisition method",
    "method name",
)


@dataclass(frozen=True, slots=True)
class Measurement:
    """A measurement document and the documents enclosing it, nearest first."""

    document: dict[str, Any]
    location: str  # JSON pointer of the measurement document
    ancestors: tuple[tuple[dict[str, Any], str], ...]

    def inherited(self, key: str) -> tuple[Any, str] | None:
        """``key``'s value and pointer, from the measurement or the nearest enclosing
        document (some ASM versions put the sample or time on the aggregate)."""
        for document, where in ((self.document, self.location), *self.ancestors):
            if key in document:
                return document[key], pointer(where, key)
        return None

    def method_name(self) -> str | None:
        for scope in self._method_scopes():
            for key in METHOD_KEYS:
                name = text_value(scope.get(key))
                if name:
                    return name
        return None

    def device_type(self) -> str | None:
        for control in self._device_controls():
            device_type = text_value(control.get("device type"))
            if device_type:
                return device_type
        return None

    def _device_controls(self) -> list[dict[str, Any]]:
        aggregate = self.document.get("device control aggregate document")
        controls = aggregate.get("device control document") if isinstance(aggregate, dict) else None
        return [c for c in controls if isinstance(c, dict)] if isinstance(controls, list) else []

    def _method_scopes(self) -> Iterator[dict[str, Any]]:
        """The measurement, its device controls, then enclosing documents; each
        followed by its custom information document."""
        documents = [
            self.document,
            *self._device_controls(),
            *(document for document, _ in self.ancestors),
        ]
        for document in documents:
            yield document
            custom = document.get("custom information document")
            if isinstance(custom, dict):
                yield custom


@dataclass(frozen=True, slots=True)
class Quantity:
    """One measured quantity: ``{"value": ..., "unit": ...}`` and what names it."""

    value: Any
    unit: Any
    test: str  # "Acetone peak area"
    id_steps: tuple[str, ...]  # ("BENCHLING_EMPOWER_TEST_ID_1", "peak area")
    location: str


def measurement_documents(
    aggregate: dict[str, Any], where: str
) -> Iterator[Measurement | RecordRejection]:
    """Every measurement document under an aggregate document, in payload order."""
    # (node, pointer, enclosing documents nearest first, is it a measurement document)
    stack: list[tuple[Any, str, tuple[tuple[dict[str, Any], str], ...], bool]] = [
        (aggregate, where, (), False)
    ]
    while stack:
        node, here, ancestors, is_measurement = stack.pop()
        if is_measurement:
            if isinstance(node, dict):
                yield Measurement(node, here, ancestors)
            else:
                yield RecordRejection(here, "measurement document", "must be a JSON object")
            continue
        children: list[tuple[Any, str, tuple[tuple[dict[str, Any], str], ...], bool]] = []
        if isinstance(node, dict):
            inner = ((node, here), *ancestors)
            for key, value in node.items():
                if key == "measurement document":
                    items = enumerate(value) if isinstance(value, list) else [(None, value)]
                    for index, item in items:
                        at = pointer(here, key) if index is None else pointer(here, key, index)
                        children.append((item, at, inner, True))
                elif isinstance(value, dict | list) and key not in NOT_RESULTS:
                    children.append((value, pointer(here, key), inner, False))
        elif isinstance(node, list):
            children = [
                (item, pointer(here, index), ancestors, False)
                for index, item in enumerate(node)
                if isinstance(item, dict | list)
            ]
        stack.extend(reversed(children))


def quantities(measurement: Measurement) -> Iterator[Quantity]:
    """The measured quantities under a measurement document, in payload order."""
    # (document, pointer, names of enclosing documents, id steps of enclosing documents)
    stack: list[tuple[dict[str, Any], str, tuple[str, ...], tuple[str, ...]]] = [
        (measurement.document, measurement.location, (), ())
    ]
    while stack:
        document, here, labels, id_steps = stack.pop()
        children: list[tuple[dict[str, Any], str, tuple[str, ...], tuple[str, ...]]] = []
        found: list[Quantity] = []
        for key, value in document.items():
            if key in NOT_RESULTS or key.endswith((" setting", "data cube")):
                continue
            if _is_quantity(value):
                found.append(
                    Quantity(
                        value["value"],
                        value["unit"],
                        " ".join((*labels, key)),
                        (*id_steps, key),
                        pointer(here, key),
                    )
                )
            elif isinstance(value, dict):
                children.append((value, pointer(here, key), labels, id_steps))
            elif isinstance(value, list):
                documents = [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]
                for index, item in documents:
                    label = _first_text(item, LABEL_KEYS)
                    ident = _first_text(item, ID_KEYS) or label
                    if ident is None and len(documents) > 1:
                        ident = str(index)  # unnamed siblings still need distinct ids
                    children.append(
                        (
                            item,
                            pointer(here, key, index),
                            (*labels, label) if label else labels,
                            (*id_steps, ident) if ident else id_steps,
                        )
                    )
        yield from found
        stack.extend(reversed(children))


def _is_quantity(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "value" in value
        and "unit" in value
        and not isinstance(value["value"], dict | list)
    )


def _first_text(document: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        text = text_value(document.get(key))
        if text:
            return text
    return None
