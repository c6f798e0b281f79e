"""Keeping the auth tables' values out of SQL debug logs.

At DEBUG level aiosqlite logs every statement with its parameters: for the auth
tables that would be private signing keys, secret and password hashes, code and refresh-token digests and, should a caller put a
secret where its client id belongs, the secret itself. A filter on that logger
withholds the parameters of any statement touching those tables. SQLAlchemy's own
statement logging (``echo``) prints parameters in a record of their own, without the
statement, so it cannot be filtered the same way: engines made here are created with
``hide_parameters=True``, and the hub should create a shared engine the same way.
"""

from __future__ import annotations

import logging

_AUTH_TABLES = (
    "oauth_clients",
    "signing_keys",
    "hub_users",
    "public_clients",
    "authorization_codes",
    "signin_sessions",
    "refresh_tokens",
    "oidc_logins",
)
_SQL_LOGGERS = ("aiosqlite",)


class WithholdAuthParameters(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and any(table in str(record.args) for table in _AUTH_TABLES):
            record.msg = "%s"
            record.args = ("SQL statement on the auth tables (parameters withheld)",)
        return True


def protect_sql_logs() -> None:
    """Install the filter once per logger (idempotent)."""
    for name in _SQL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdAuthParameters) for f in logger.filters):
            logger.addFilter(WithholdAuthParameters())
