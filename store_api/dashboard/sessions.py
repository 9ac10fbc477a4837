"""Dashboard logins kept on the server: logging out ends one for good.

The cookie is signed but a signature only proves the server made it; a copy of the cookie
taken before logout would stay valid until it expired. So the cookie carries a random token
and the database keeps a row per login (the token's SHA-256 only); logout deletes the row, and
every page checks it is still there, unexpired, for a key that is not revoked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store_api.dashboard.models import DashboardSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, key_id: int, *, now: dt.datetime, hours: float) -> str:
    """A new login for ``key_id``; returns the token for the cookie (expired logins go)."""
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=_hash(token),
            key_id=key_id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def key_of(session: Session, token: str, *, now: dt.datetime) -> int | None:
    """The key a live login belongs to, or None (logged out, expired or never issued)."""
    found: int | None = session.scalar(
        select(DashboardSession.key_id).where(
            DashboardSession.token_hash == _hash(token), DashboardSession.expires_at > now
        )
    )
    return found


def close_session(session: Session, token: str) -> None:
    session.execute(delete(DashboardSession).where(DashboardSession.token_hash == _hash(token)))
