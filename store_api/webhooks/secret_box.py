"""Webhook signing secrets, encrypted at rest.

The worker must sign with the secret itself, so it cannot be stored as a one-way hash the way
API keys are. It is stored encrypted instead (Fernet: AES-128-CBC with an HMAC-SHA256, from
``cryptography``) under a key derived from the instance's SECRET_KEY (COMPTOIR_SECRET_KEY, or
``<instance>/secret_key``, mode 0600). A copy of the database alone (a backup, a dump, a stolen
disk image of PostgreSQL, someone who can read the tables) no longer gives the secrets that
let anyone forge Comptoir's webhooks. Someone who has both the database and the key file still
has everything: that is the limit of any scheme where the server must sign unattended.

Changing SECRET_KEY makes the stored secrets unreadable: deliveries then fail with "signing
secret unreadable" until the owner rotates each subscription's secret (``rotate_secret``).
Secrets written before this existed (plain ``whsec_...``) are read as they are and sealed by
``flask db upgrade``.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "enc1:"
_INFO = b"comptoir webhook signing secrets v1"


class SecretUnreadable(ValueError):
    """A stored secret that this key cannot open (SECRET_KEY changed, or the row was altered)."""


class SecretBox:
    """Seals and opens webhook secrets with a key derived from SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 16:
            raise ValueError("SECRET_KEY is too short to derive an encryption key from")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, secret: str) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not is_sealed(stored):
            return stored  # written before secrets were sealed
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED_PREFIX)).decode()
        except (InvalidToken, ValueError):
            raise SecretUnreadable("signing secret unreadable (SECRET_KEY changed?)") from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)
