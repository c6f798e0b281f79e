"""The words B2MML exports use where the standard leaves free text: lot status, the IDs
of lot properties, BatchML batch states and event names.

Keys are ``word_key`` forms (case, spaces and punctuation ignored). A partner whose MES
says something else adds its words through the connector's options; these defaults
are what MES and ERP systems commonly write.
"""

from __future__ import annotations

from typing import Literal

from graph.model import BatchStatus

LotField = Literal["manufactured_on", "released_on", "expires_on", "supplier", "supplier_lot"]

_RELEASED = ("released", "approved", "accepted", "unrestricted", "available", "valid")
_QUARANTINE = (
    "quarantine",
    "quarantined",
    "hold",
    "onhold",
    "held",
    "blocked",
    "restricted",
    "pending",
    "awaitingrelease",
    "undertest",
    "intest",
)
_REJECTED = ("rejected", "reject", "failed", "notapproved")
_IN_PROCESS = ("inprocess", "inprogress", "inproduction", "wip", "running")

# ISA-95 leaves MaterialLot Status free text. "Valid" is what the Courbon ERP exchange
# (a MESA example) writes for a lot cleared for use. Words that say a lot is used up or
# out of date say nothing of its quality disposition, so they carry no status.
DEFAULT_STATUS_WORDS: dict[str, BatchStatus | None] = {
    **dict.fromkeys(_RELEASED, BatchStatus.RELEASED),
    **dict.fromkeys(_QUARANTINE, BatchStatus.QUARANTINE),
    **dict.fromkeys(_REJECTED, BatchStatus.REJECTED),
    **dict.fromkeys(_IN_PROCESS, BatchStatus.IN_PROCESS),
    "recalled": BatchStatus.RECALLED,
    "planned": BatchStatus.PLANNED,
    "scheduled": BatchStatus.PLANNED,
    "consumed": None,
    "depleted": None,
    "expired": None,
}

# A BatchML BatchListEntry's Status is an ISA-88 procedural state: where the batch is in
# its recipe, not whether it is released. "Held" here is a paused recipe, not a lot on
# hold, which is why these states are read before the lot vocabulary.
BATCH_STATES: dict[str, BatchStatus | None] = {
    "idle": BatchStatus.PLANNED,
    **dict.fromkeys(
        ("running", "pausing", "paused", "holding", "held", "restarting", "stopping", "aborting"),
        BatchStatus.IN_PROCESS,
    ),
    **dict.fromkeys(("complete", "completed", "stopped", "aborted"), None),
}

DEFAULT_LOT_PROPERTIES: dict[str, LotField] = {
    **dict.fromkeys(
        ("expirydate", "expirationdate", "expiry", "expiration", "expdate", "bestbefore"),
        "expires_on",
    ),
    **dict.fromkeys(
        (
            "manufacturedate",
            "manufacturingdate",
            "manufactureddate",
            "dateofmanufacture",
            "productiondate",
            "mfgdate",
        ),
        "manufactured_on",
    ),
    **dict.fromkeys(("releasedate", "releaseddate", "qareleasedate"), "released_on"),
    **dict.fromkeys(
        (
            "supplierlot",
            "supplierlotid",
            "supplierlotnumber",
            "supplierbatch",
            "supplierbatchnumber",
            "vendorlot",
            "vendorlotnumber",
            "vendorbatch",
            "manufacturerlot",
            "manufacturerlotnumber",
            "manufacturerbatch",
        ),
        "supplier_lot",
    ),
    **dict.fromkeys(
        (
            "supplier",
            "supplierid",
            "suppliername",
            "vendor",
            "vendorid",
            "vendorname",
            "manufacturer",
            "manufacturername",
        ),
        "supplier",
    ),
}

# BatchML Events: an event named like these (EventSubType, EventType or Description)
# dates the batch by its TimeStamp.
DateField = Literal["manufactured_on", "released_on"]
EVENT_DATES: dict[str, DateField] = {
    **dict.fromkeys(
        ("batchstart", "start", "startofbatch", "productionstart", "manufacturingstart"),
        "manufactured_on",
    ),
    **dict.fromkeys(
        ("release", "released", "batchrelease", "qarelease", "qualityrelease"), "released_on"
    ),
}
