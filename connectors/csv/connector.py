"""The profile-driven connectors: ``mes.csv``, ``lims.csv`` and ``qms.csv``.

One engine, three names: each connector is the same reader and mapper, and differs
in the record kinds its profiles may make, so that an ingestion's connector says what
kind of system the export came from (and a LIMS profile cannot quietly create
quality agreements). Options carry the parsed profile:
``Connector.with_options({"profile": profile})`` or the profile's YAML as a mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator

from connectors.base import Connector, Outcome, ParseContext
from connectors.csv.lifecycle_fields import LIFECYCLE_KINDS
from connectors.csv.mapping import RowMapper, referenced_columns
from connectors.csv.profile import Profile, ProfileError
from connectors.csv.reading import open_text, read_table
from graph.intake import RecordRejection

MEDIA_TYPES = ("text/csv", "application/x-ndjson")


class CsvOptions(BaseModel):
    """A connector's options: the partner's profile. Subclasses name the record kinds
    their connector makes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KINDS: ClassVar[tuple[str, ...]] = ()
    CONNECTOR: ClassVar[str] = ""

    profile: Profile

    @field_validator("profile")
    @classmethod
    def _kinds_of_this_connector(cls, profile: Profile) -> Profile:
        problem = kinds_problem(profile, cls.CONNECTOR, cls.KINDS)
        if problem:
            raise ValueError(": ".join(problem))
        return profile


def kinds_problem(
    profile: Profile, connector: str, kinds: tuple[str, ...]
) -> tuple[str, str] | None:
    """(key path, message) when the profile makes a record kind the connector does not."""
    for index, spec in enumerate(profile.records):
        if spec.kind not in kinds:
            owner = next(
                (name for name, made in KINDS_BY_CONNECTOR.items() if spec.kind in made), ""
            )
            hint = f"; {owner} makes it" if owner else ""
            return (
                f"records[{index}].kind",
                f"{connector} makes {', '.join(kinds)}, not {spec.kind}{hint}",
            )
    return None


class MesCsvOptions(CsvOptions):
    KINDS = ("Batch", "Material")
    CONNECTOR = "mes.csv"


class LimsCsvOptions(CsvOptions):
    KINDS = ("TestResult",)
    CONNECTOR = "lims.csv"


class QmsCsvOptions(CsvOptions):
    KINDS = ("QualityAgreement", "Qualification", "Deviation", *LIFECYCLE_KINDS)
    CONNECTOR = "qms.csv"


KINDS_BY_CONNECTOR = {
    options.CONNECTOR: options.KINDS for options in (MesCsvOptions, LimsCsvOptions, QmsCsvOptions)
}


class ProfileCsvConnector(Connector):
    """Reads a CSV or JSON-lines payload row by row through the options' profile."""

    media_types = MEDIA_TYPES
    Options: ClassVar[type[BaseModel]] = CsvOptions
    options: CsvOptions

    @classmethod
    def for_profile(cls, profile: Profile) -> ProfileCsvConnector:
        """The connector with ``profile``; ProfileError when it makes kinds this
        connector does not (what ``with_options`` reports as a PayloadError)."""
        options_type = cls.Options
        assert issubclass(options_type, CsvOptions)
        problem = kinds_problem(profile, cls.name, options_type.KINDS)
        if problem:
            raise ProfileError([problem])
        return cls(options_type(profile=profile))

    def parse(self, payload: IO[bytes], context: ParseContext) -> Iterator[Outcome]:
        profile = self.options.profile
        text = open_text(payload, profile.encoding)
        try:
            table = read_table(text, profile, context.filename, referenced_columns(profile))
            mapper = RowMapper(profile, table.locate, context, table.empty_word)
            for line, row in table.rows:
                if isinstance(row, RecordRejection):
                    yield row
                else:
                    yield from mapper.outcomes(row, f"line {line}")
        finally:
            text.detach()  # the payload belongs to the caller: leave it open


class MesCsvConnector(ProfileCsvConnector):
    name = "mes.csv"
    Options = MesCsvOptions
    description = (
        "MES batch exports and receiving logs as CSV or JSON lines, through a partner profile"
    )


class LimsCsvConnector(ProfileCsvConnector):
    name = "lims.csv"
    Options = LimsCsvOptions
    description = "LIMS and instrument results as CSV or JSON lines, through a partner profile"


class QmsCsvConnector(ProfileCsvConnector):
    name = "qms.csv"
    Options = QmsCsvOptions
    description = (
        "QMS agreements, qualifications, deviations and the partnership lifecycle"
        " (specifications, tech transfers, changes, audits, inspections) as CSV or JSON"
        " lines, through a partner profile"
    )


CSV_CONNECTORS: dict[str, type[ProfileCsvConnector]] = {
    connector.name: connector for connector in (MesCsvConnector, LimsCsvConnector, QmsCsvConnector)
}
