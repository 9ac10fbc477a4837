"""Pairing tablets with a one-time code, listing and revoking them (no Flask here).

A pairing code is 6 digits, valid ``CODE_TTL`` (10 minutes), single use. Only an HMAC of it
is stored, keyed with the server's secret: a copy of the database alone cannot recover a
live code. Guessing is limited: failed attempts are counted per client address (an IPv6
address counts as its /64 network) and overall, over a sliding window; beyond either limit
pairing answers 429 until the window has passed. With the defaults (5 per address, 50
overall per 10 minutes) a guesser has at most 50 tries per code lifetime out of 1 000 000:
a 0.005 % chance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from store_api.errors import Conflict, ErrorCode, NotFound, TooManyAttempts
from store_api.keys import service as keys
from store_api.keys.models import ApiKey, Role
from store_api.tablets.models import PairingAttempt, PairingCode, Tablet

CODE_DIGITS = 6
CODE_TTL = dt.timedelta(minutes=10)
# A tablet's last_seen_at is written at most this often (it checks in every second or so).
SEEN_EVERY = dt.timedelta(seconds=60)
DEFAULT_NAME = "Tablette {n}"
_SEPARATORS = re.compile(r"[\s\-.]")


@dataclass(frozen=True)
class PairingLimits:
    """Failed attempts allowed per client address and overall within ``window``."""

    per_address: int = 5
    overall: int = 50
    window: dt.timedelta = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NewCode:
    code: str
    name: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Paired:
    tablet: Tablet
    secret: str


def code_hash(secret: str, code: str) -> str:
    return hmac.new(secret.encode(), code.encode(), hashlib.sha256).hexdigest()


def normalise_code(raw: str) -> str | None:
    """What a person typed ("482 913", "482-913") as 6 digits, or None if it cannot be one."""
    code = _SEPARATORS.sub("", raw)
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


def address_bucket(address: str) -> str:
    """Where attempts are counted: the IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# --- names --------------------------------------------------------------------------------


def _live_names(session: Session, now: dt.datetime) -> set[str]:
    """Names of tablets not revoked and of codes still waiting to be used."""
    tablets = session.scalars(
        select(Tablet.name)
        .join(ApiKey, ApiKey.id == Tablet.api_key_id)
        .where(ApiKey.revoked_at.is_(None))
    )
    pending = session.scalars(
        select(PairingCode.name).where(PairingCode.used_at.is_(None), PairingCode.expires_at > now)
    )
    return {*tablets, *pending}


def _next_name(taken: set[str]) -> str:
    n = 1
    while DEFAULT_NAME.format(n=n) in taken:
        n += 1
    return DEFAULT_NAME.format(n=n)


# --- codes ----------------------------------------------------------------------------------


def create_code(
    session: Session, *, name: str | None, created_by: str, secret: str, now: dt.datetime
) -> NewCode:
    """A new pairing code for a tablet called ``name`` (default: the next free "Tablette N")."""
    taken = _live_names(session, now)
    if name is None:
        name = _next_name(taken)
    elif name in taken:
        raise Conflict(
            ErrorCode.TABLET_NAME_TAKEN,
            f"A tablet or a pending code is already called {name!r}; choose another name.",
            {"name": [f"{name!r} is already used by a tablet or a pending code."]},
        )
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        hashed = code_hash(secret, code)
        clash = session.scalar(
            select(func.count())
            .select_from(PairingCode)
            .where(
                PairingCode.code_hash == hashed,
                PairingCode.used_at.is_(None),
                PairingCode.expires_at > now,
            )
        )
        if not clash:  # two live codes never share digits
            break
    expires_at = now + CODE_TTL
    session.add(
        PairingCode(
            code_hash=hashed,
            name=name,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return NewCode(code=code, name=name, expires_at=expires_at)


def _check_attempts(session: Session, bucket: str, now: dt.datetime, limits: PairingLimits) -> None:
    since = now - limits.window
    recent = select(PairingAttempt.at).where(PairingAttempt.at > since)
    checks = (
        (recent.where(PairingAttempt.address == bucket), limits.per_address, "from your network"),
        (recent, limits.overall, "on this shop"),
    )
    for query, limit, where in checks:
        times = list(session.scalars(query.order_by(PairingAttempt.at.desc()).limit(limit)))
        if len(times) >= limit:
            # Free again when the oldest of the last ``limit`` failures leaves the window.
            wait = (times[-1] + limits.window - now).total_seconds()
            raise TooManyAttempts(
                f"Too many wrong pairing codes {where}; try again in {int(wait) + 1} s.",
                max(1, int(wait) + 1),
            )


def pair(
    session: Session,
    *,
    code: str,
    device: str | None,
    address: str,
    secret: str,
    now: dt.datetime,
    limits: PairingLimits,
) -> Paired | None:
    """Use a code: a new tablet with its own seller key, or None (the failure is counted).

    The caller commits either way, so a failed attempt is remembered; it answers 404 on None.
    """
    bucket = address_bucket(address)
    _check_attempts(session, bucket, now, limits)
    digits = normalise_code(code)
    used = None
    if digits is not None:
        # One guarded statement: two tablets racing for one code cannot both get it.
        used = session.execute(
            update(PairingCode)
            .where(
                PairingCode.code_hash == code_hash(secret, digits),
                PairingCode.used_at.is_(None),
                PairingCode.expires_at > now,
            )
            .values(used_at=now)
            .returning(PairingCode.id, PairingCode.name)
        ).first()
    if used is None:
        session.add(PairingAttempt(address=bucket, at=now))
        session.flush()
        return None
    key, key_secret = keys.create_key(session, name=used.name, role=Role.SELLER, now=now)
    tablet = Tablet(
        name=used.name, api_key_id=key.id, device=device, paired_at=now, last_seen_at=now
    )
    session.add(tablet)
    session.flush()
    session.execute(
        update(PairingCode).where(PairingCode.id == used.id).values(tablet_id=tablet.id)
    )
    return Paired(tablet=tablet, secret=key_secret)


# --- tablets --------------------------------------------------------------------------------


def list_tablets(session: Session) -> list[Tablet]:
    return list(session.scalars(select(Tablet).order_by(Tablet.id)))


def get_tablet(session: Session, tablet_id: int) -> Tablet:
    tablet = session.get(Tablet, tablet_id)
    if tablet is None:
        raise NotFound(
            ErrorCode.TABLET_NOT_FOUND, f"No tablet {tablet_id}.", {"tablet_id": tablet_id}
        )
    return tablet


def revoke(session: Session, tablet_id: int, now: dt.datetime) -> Tablet:
    """Revoke the tablet's key: every later call is a 401 and its live stream ends."""
    tablet = get_tablet(session, tablet_id)
    keys.revoke(session, tablet.api_key_id, now)
    session.flush()
    return tablet


def tablet_of_key(session: Session, key_id: int) -> Tablet | None:
    return session.scalars(select(Tablet).where(Tablet.api_key_id == key_id)).one_or_none()


def seen(session: Session, key_id: int, now: dt.datetime) -> bool:
    """Record that the tablet with this key checked in (at most once per ``SEEN_EVERY``)."""
    result = session.execute(
        update(Tablet)
        .where(
            Tablet.api_key_id == key_id,
            (Tablet.last_seen_at.is_(None)) | (Tablet.last_seen_at < now - SEEN_EVERY),
        )
        .values(last_seen_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def needs_seen(tablet: Tablet | None, now: dt.datetime) -> bool:
    return tablet is not None and (
        tablet.last_seen_at is None or tablet.last_seen_at < now - SEEN_EVERY
    )


@dataclass(frozen=True)
class KeyState:
    revoked: bool
    tablet_due_seen: bool  # a tablet's key whose last_seen_at is older than SEEN_EVERY


def key_state(session: Session, key_id: int, now: dt.datetime) -> KeyState:
    """Is the key still valid, is it a tablet due a check-in: one indexed lookup, which a live
    stream repeats every second or so."""
    row = session.execute(
        select(ApiKey.revoked_at, Tablet.id, Tablet.last_seen_at)
        .outerjoin(Tablet, Tablet.api_key_id == ApiKey.id)
        .where(ApiKey.id == key_id)
    ).first()
    if row is None or row.revoked_at is not None:
        return KeyState(revoked=True, tablet_due_seen=False)
    due = row.id is not None and (row.last_seen_at is None or row.last_seen_at < now - SEEN_EVERY)
    return KeyState(revoked=False, tablet_due_seen=due)


def purge_attempts(session: Session, *, older_than: dt.datetime) -> int:
    """Forget failed attempts that no longer count (the sweeper calls it)."""
    result = session.execute(delete(PairingAttempt).where(PairingAttempt.at < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
