"""Authorization codes, sign-in sessions and their rotating refresh tokens.

A code is good once, for ``authorization_code_lifetime`` (60 s), and is bound to the
client, redirect URI, user, scopes and PKCE challenge it was issued for. Redeeming it
opens a session, which lasts at most ``session_lifetime`` and whose refresh token is
replaced at every use (rotation). A code or refresh token presented a second time
means someone else holds a copy: the session it opened is revoked at once (RFC 9700
4.14.2 and 2.1.1). Revoking a session (sign-out, RFC 7009) ends every refresh token
of it, so no new access token can be had; access tokens already issued run out
within their short lifetime.

Codes and refresh tokens are 256 random bits kept only as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.config import AuthConfig, Clock
from auth.principal import Scope
from auth.signin_tables import authorization_codes, refresh_tokens, signin_sessions
from auth.timing import aware, moment


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedCode:
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: frozenset[Scope]
    code_challenge: str
    code_hash: str


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    user_id: str
    client_id: str
    scopes: frozenset[Scope]
    expires_at: datetime


class SigninSessions:
    def __init__(self, engine: AsyncEngine, config: AuthConfig, clock: Clock) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock

    # -- codes --

    async def issue_code(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        user_id: str,
        scopes: frozenset[Scope],
        code_challenge: str,
    ) -> str:
        code = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await conn.execute(
                authorization_codes.insert().values(
                    code_hash=digest(code),
                    client_id=client_id,
                    redirect_uri=redirect_uri,
                    user_id=user_id,
                    scopes=_joined(scopes),
                    code_challenge=code_challenge,
                    expires_at=moment(self.clock) + self.config.authorization_code_lifetime,
                    used_at=None,
                    session_id=None,
                )
            )
        return code

    async def redeem_code(self, code: str) -> IssuedCode | None:
        """The code's binding, if it is known, unexpired and this is its first use. Any
        use burns it; a second use also revokes the session the first one opened."""
        code_hash, now = digest(code), moment(self.clock)
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(authorization_codes).where(authorization_codes.c.code_hash == code_hash)
                )
            ).first()
            if row is None:
                return None
            burned = await conn.execute(
                update(authorization_codes)
                .where(
                    authorization_codes.c.code_hash == code_hash,
                    authorization_codes.c.used_at.is_(None),
                )
                .values(used_at=now)
            )
            found = row._mapping
            if not burned.rowcount:
                if found["session_id"] is not None:
                    await _revoke_session(conn, found["session_id"], now)
                return None
        if aware(found["expires_at"]) <= now:
            return None
        return IssuedCode(
            client_id=found["client_id"],
            redirect_uri=found["redirect_uri"],
            user_id=found["user_id"],
            scopes=_scopes(found["scopes"]),
            code_challenge=found["code_challenge"],
            code_hash=code_hash,
        )

    # -- sessions and refresh tokens --

    async def open_session(self, code: IssuedCode) -> tuple[Session, str]:
        """A new session for a redeemed code, and its first refresh token."""
        now = moment(self.clock)
        session = Session(
            session_id=f"ses-{secrets.token_hex(12)}",
            user_id=code.user_id,
            client_id=code.client_id,
            scopes=code.scopes,
            expires_at=now + self.config.session_lifetime,
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                signin_sessions.insert().values(
                    session_id=session.session_id,
                    user_id=session.user_id,
                    client_id=session.client_id,
                    scopes=_joined(session.scopes),
                    created_at=now,
                    expires_at=session.expires_at,
                    revoked_at=None,
                )
            )
            await conn.execute(
                update(authorization_codes)
                .where(authorization_codes.c.code_hash == code.code_hash)
                .values(session_id=session.session_id)
            )
            refresh = await self._new_refresh_token(conn, session, now)
        return session, refresh

    async def rotate(self, refresh_token: str) -> tuple[Session, str] | None:
        """The live session of ``refresh_token`` and its next refresh token; None if the
        token is unknown, expired, already used (the session is then revoked) or its
        session has ended."""
        token_hash, now = digest(refresh_token), moment(self.clock)
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
                )
            ).first()
            if row is None:
                return None
            found = row._mapping
            used = await conn.execute(
                update(refresh_tokens)
                .where(
                    refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.used_at.is_(None)
                )
                .values(used_at=now)
            )
            if not used.rowcount:
                await _revoke_session(conn, found["session_id"], now)
                return None
            if aware(found["expires_at"]) <= now:
                return None
            session = await _live_session(conn, found["session_id"], now)
            if session is None:
                return None
            return session, await self._new_refresh_token(conn, session, now)

    async def session_of(self, refresh_token: str) -> Session | None:
        """The session a refresh token belongs to, ended or not (for revocation)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(signin_sessions)
                    .join(
                        refresh_tokens,
                        refresh_tokens.c.session_id == signin_sessions.c.session_id,
                    )
                    .where(refresh_tokens.c.token_hash == digest(refresh_token))
                )
            ).first()
        return None if row is None else _session(row._mapping)

    async def revoke(self, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await _revoke_session(conn, session_id, moment(self.clock))

    async def revoke_user(self, user_id: str) -> None:
        """End every session of a user (the user was disabled)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(signin_sessions)
                .where(signin_sessions.c.user_id == user_id, signin_sessions.c.revoked_at.is_(None))
                .values(revoked_at=moment(self.clock))
            )

    async def _new_refresh_token(
        self, conn: AsyncConnection, session: Session, now: datetime
    ) -> str:
        token = secrets.token_urlsafe(32)
        await conn.execute(
            refresh_tokens.insert().values(
                token_hash=digest(token),
                session_id=session.session_id,
                issued_at=now,
                expires_at=min(now + self.config.refresh_idle_lifetime, session.expires_at),
                used_at=None,
            )
        )
        return token


async def _revoke_session(conn: AsyncConnection, session_id: str, now: datetime) -> None:
    await conn.execute(
        update(signin_sessions)
        .where(signin_sessions.c.session_id == session_id, signin_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def _live_session(conn: AsyncConnection, session_id: str, now: datetime) -> Session | None:
    row = (
        await conn.execute(
            select(signin_sessions).where(
                signin_sessions.c.session_id == session_id, signin_sessions.c.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    session = _session(row._mapping)
    return session if session.expires_at > now else None


def _session(row: RowMapping) -> Session:
    return Session(
        session_id=row["session_id"],
        user_id=row["user_id"],
        client_id=row["client_id"],
        scopes=_scopes(row["scopes"]),
        expires_at=aware(row["expires_at"]),
    )


def _joined(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(scopes))


def _scopes(text: str) -> frozenset[Scope]:
    return frozenset(Scope(scope) for scope in text.split())
