"""Connectors by name. Adding a connector is one module and one line here."""

from __future__ import annotations

from connectors.base import Connector


class UnknownConnector(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no connector named {name!r}; known: {', '.join(sorted(CONNECTORS))}")
        self.name = name


def _all() -> dict[str, type[Connector]]:
    from connectors.animl import AnimlConnector
    from connectors.asm.connector import AsmConnector
    from connectors.asm.instrument import InstrumentConnector
    from connectors.b2mml.connector import B2mmlConnector
    from connectors.canonical import CanonicalJsonLines
    from connectors.csv.connector import LimsCsvConnector, MesCsvConnector, QmsCsvConnector
    from connectors.epcis.connector import EpcisConnector
    from connectors.rocrate import RoCrateConnector

    found: list[type[Connector]] = [
        CanonicalJsonLines,
        B2mmlConnector,
        AnimlConnector,
        MesCsvConnector,
        LimsCsvConnector,
        QmsCsvConnector,
        AsmConnector,
        InstrumentConnector,
        EpcisConnector,
        RoCrateConnector,
    ]
    return {connector.name: connector for connector in found}


CONNECTORS: dict[str, type[Connector]] = _all()


def connector_named(name: str) -> type[Connector]:
    try:
        return CONNECTORS[name]
    except KeyError:
        raise UnknownConnector(name) from None
