"""Organizations' identifiers: GS1 company prefixes and GLNs, FDA FEI and DUNS numbers.

They are facts about an organization, registered once by the operator (``partnerhub
orgs add-identifier``, ``POST /admin/organizations/{org}/identifiers``), audited, and
used for every push: a partner's EPCIS events name its lots and places by its GS1
keys, and the hub knows whose they are without the push repeating it; an export that
names an organization by its DUNS, FDA FEI or GLN number (a supplier column of an ERP
export, a B2MML supplier, an AnIML manufacturer) names that organization (the
connectors get the registry in their ``ParseContext``: ``org_named``). One identifier
belongs to one organization: registering another's is refused by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from graph.visibility import Visibility
from hub.records import audit
from hub.records.audit import Actor
from hub.records.database import utc

metadata = MetaData()

organization_identifiers = Table(
    "organization_identifiers",
    metadata,
    Column("scheme", String(16), primary_key=True),
    Column("value", String(32), primary_key=True),
    Column("org", String(64), nullable=False, index=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("added_by", String(128), nullable=False),
)


class Scheme(StrEnum):
    GS1_PREFIX = "gs1-prefix"  # a GS1 company prefix: 6 to 12 digits
    GLN = "gln"  # a GS1 Global Location Number: 13 digits
    FEI = "fei"  # an FDA Establishment Identifier: 7 to 10 digits
    DUNS = "duns"  # a D-U-N-S number: 9 digits


_FORMS = {
    Scheme.GS1_PREFIX: (re.compile(r"\d{6,12}"), "6 to 12 digits"),
    Scheme.GLN: (re.compile(r"\d{13}"), "13 digits"),
    Scheme.FEI: (re.compile(r"\d{7,10}"), "7 to 10 digits"),
    Scheme.DUNS: (re.compile(r"\d{9}"), "9 digits"),
}


class IdentifierError(ValueError):
    """An identifier of the wrong form, or one that belongs to another organization."""


class IdentifierTaken(IdentifierError):
    """The identifier is registered to another organization."""


@dataclass(frozen=True, slots=True)
class OrganizationIdentifier:
    org: str
    scheme: Scheme
    value: str
    added_at: datetime
    added_by: str


def checked(scheme: str, value: str) -> tuple[Scheme, str]:
    """The scheme and the value as stored (dashes and spaces dropped), or why not."""
    try:
        known = Scheme(scheme)
    except ValueError:
        schemes = ", ".join(s.value for s in Scheme)
        raise IdentifierError(f"scheme {scheme!r} is not one of {schemes}") from None
    compact = re.sub(r"[\s-]", "", value)
    form, wanted = _FORMS[known]
    if not form.fullmatch(compact):
        raise IdentifierError(f"a {known.value} is {wanted}, not {value!r}")
    return known, compact


async def add(engine: AsyncEngine, org: str, scheme: str, value: str, by: Actor) -> bool:
    """Register ``value`` to ``org`` (audited); False if it already was. IdentifierError
    if its form is wrong or it is another organization's."""
    try:
        Visibility.for_org(org)  # checks the slug, as every read by that org does
    except ValueError:
        message = f"{org!r} is not an organization id (lower-case letters, digits, .-_)"
        raise IdentifierError(message) from None
    known, compact = checked(scheme, value)
    key = (organization_identifiers.c.scheme == known.value) & (
        organization_identifiers.c.value == compact
    )
    async with engine.begin() as conn:
        owner = (await conn.execute(select(organization_identifiers.c.org).where(key))).scalar()
        if owner == org:
            return False
        if owner is not None:
            raise IdentifierTaken(f"{known.value} {compact} is registered to {owner!r}")
        try:
            await conn.execute(
                organization_identifiers.insert().values(
                    scheme=known.value,
                    value=compact,
                    org=org,
                    added_at=datetime.now(UTC),
                    added_by=by.client or by.org,
                )
            )
        except IntegrityError:  # registered by someone else in the meantime
            raise IdentifierTaken(f"{known.value} {compact} is already registered") from None
        await audit.append(
            conn,
            by,
            "identifier.add",
            f"org:{org}",
            "ok",
            {"scheme": known.value, "value": compact},
        )
    return True


async def of(engine: AsyncEngine, org: str | None = None) -> list[OrganizationIdentifier]:
    """The identifiers of ``org`` (None: every organization's), by org, scheme, value."""
    table = organization_identifiers
    query = select(table).order_by(table.c.org, table.c.scheme, table.c.value)
    if org is not None:
        query = query.where(table.c.org == org)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        OrganizationIdentifier(
            row["org"], Scheme(row["scheme"]), row["value"], utc(row["added_at"]), row["added_by"]
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class ForConnectors:
    """What connectors are told of the registry: whose GS1 prefixes and GLNs are whose,
    and every registered number (GLN, FEI, DUNS) that names an organization."""

    gs1_prefixes: Mapping[str, str]
    glns: Mapping[str, str]
    numbers: Mapping[str, str]


NONE_REGISTERED = ForConnectors({}, {}, {})

# Numbers an export may name an organization by (a GS1 prefix names keys, not a party).
_NAMING = (Scheme.GLN, Scheme.FEI, Scheme.DUNS)


async def for_connectors(engine: AsyncEngine) -> ForConnectors:
    """The registered identifiers (-> organization), in one read per ingestion."""
    table = organization_identifiers
    found: dict[str, dict[str, str]] = {scheme.value: {} for scheme in Scheme}
    async with engine.connect() as conn:
        rows = await conn.execute(select(table.c.scheme, table.c.value, table.c.org))
        for scheme, value, org in rows:
            found.setdefault(scheme, {})[value] = org
    owners: dict[str, set[str]] = {}
    for scheme in _NAMING:
        for value, org in found[scheme.value].items():
            owners.setdefault(value, set()).add(org)
    # One number registered under two schemes for two organizations names neither.
    numbers = {value: orgs.pop() for value, orgs in owners.items() if len(orgs) == 1}
    return ForConnectors(found[Scheme.GS1_PREFIX.value], found[Scheme.GLN.value], numbers)
