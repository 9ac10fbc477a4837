"""The instance folder: the SQLite database, the secret key, the rate-limit counters.

Everything in it is private to the user running Comptoir: the folder is created 0700 and its
files 0600, whatever the umask (the database holds customer notes and webhook secrets, the
key signs dashboard logins and encrypts those secrets).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from flask import Flask

SECRET_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (0700) if needed; tighten it when this process created or owns it."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _tighten(folder, 0o700)
    return folder


def private_file(path: str | Path) -> Path:
    """Create ``path`` empty (0600) if it does not exist; tighten an existing one we own."""
    file = Path(path)
    if not file.exists():
        # Never open an existing file: closing any descriptor of a SQLite database drops the
        # POSIX locks this process's connections hold on it (another process may then reset
        # the WAL index under them: SIGBUS).
        os.close(os.open(file, os.O_CREAT | os.O_RDWR, 0o600))
    _tighten(file, 0o600)
    return file


def _tighten(path: Path, mode: int) -> None:
    """Remove group and other permissions from a path we own (left alone otherwise)."""
    try:
        info = path.stat()
    except OSError:
        return
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)


def instance_secret_key(instance_path: str | Path) -> str:
    """The key in ``<instance>/secret_key``, created once (mode 0600) if it is not there.

    Workers race to create it at first start: each writes a private temporary file and
    hard-links it into place; the link fails for all but the first, and everyone reads it.
    """
    path = Path(instance_path) / SECRET_FILE
    if not path.exists():
        private_dir(path.parent)
        temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable secret key; delete it to get a new one.")
    return secret


def secret_key(app: Flask) -> str:
    """``SECRET_KEY``, or the instance's generated one (resolved at first use: tests move the
    instance folder after create_app)."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    key: str = app.config["SECRET_KEY"]
    return key
