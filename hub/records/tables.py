"""Every table the hub's database holds, gathered from the modules that own them: the
ledger's, the audit trail's, the authorization server's (clients, keys, people's sign-in), the organizations'
identifiers, the EPCIS traces, the alert targets, outbox and compliance verdicts, and the
alert log shared by hub processes. A test compares them with
what the migrations build, so a table changed without a migration fails it."""

from __future__ import annotations

from sqlalchemy import MetaData

from auth.signin_tables import signin_metadata
from auth.store import auth_metadata
from hub.records.alert_log import metadata as alert_log_metadata
from hub.records.alert_targets import metadata as alert_targets_metadata
from hub.records.audit import audit_metadata
from hub.records.identifiers import metadata as identifiers_metadata
from hub.records.ledger import metadata as ledger_metadata
from hub.records.outbox import metadata as outbox_metadata
from hub.records.traces import metadata as traces_metadata
from hub.records.verdicts import metadata as verdicts_metadata


def all_tables() -> MetaData:
    """Every table the code reads and writes, gathered in one MetaData (for the drift test)."""
    gathered = MetaData()
    for part in (
        ledger_metadata,
        auth_metadata,
        signin_metadata,
        audit_metadata,
        identifiers_metadata,
        traces_metadata,
        alert_targets_metadata,
        outbox_metadata,
        verdicts_metadata,
        alert_log_metadata,
    ):
        for table in part.tables.values():
            table.to_metadata(gathered)
    return gathered
