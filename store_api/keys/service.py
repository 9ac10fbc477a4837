"""Creating, checking and revoking API keys (no Flask here: the CLI and the API share it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.keys.models import ApiKey, Role

KEY_PREFIX = "cpt_"


def hash_key(secret: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session, *, name: str, role: Role | str, now: dt.datetime
) -> tuple[ApiKey, str]:
    """Create a key; the returned secret is never stored and cannot be shown again."""
    role = Role(role)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, role=role.value, key_hash=hash_key(secret), prefix=secret[:12], created_at=now
    )
    session.add(key)
    session.flush()
    return key, secret


def authenticate(session: Session, secret: str) -> ApiKey | None:
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    return session.scalars(
        select(ApiKey).where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
    ).one_or_none()


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke(session: Session, key_id: int, now: dt.datetime) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = now
    return key


def revoke_named(session: Session, prefix: str, now: dt.datetime) -> int:
    """Revoke every live key whose name starts with ``prefix`` (demo keys are rotated)."""
    keys = session.scalars(
        select(ApiKey).where(ApiKey.name.startswith(prefix), ApiKey.revoked_at.is_(None))
    ).all()
    for key in keys:
        key.revoked_at = now
    return len(keys)
