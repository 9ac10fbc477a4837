"""The demo shop served for the tablet's screenshots and bench (bench/tablet_*.py).

A fresh SQLite database in a temporary folder, seeded as `make run` does (catalogue, sales
history, planogram, a trained recommender), served by a real gunicorn on 127.0.0.1 (a secure
context: the service worker runs), with seller keys for the tablets.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from store_api import create_app
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class DemoShop:
    app: Flask
    server: LiveServer
    env: dict[str, str]

    def flask(self, *args: str) -> str:
        """Run a `flask --app store_api` command on this shop; its output."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "store_api", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        return result.stdout

    def key(self, role: str, name: str) -> str:
        return self.flask("keys", "create", "--role", role, "--name", name).strip().splitlines()[-1]


@contextmanager
def demo_shop(
    *, train: bool = True, server_env: dict[str, Any] | None = None
) -> Iterator[DemoShop]:
    with tempfile.TemporaryDirectory(prefix="comptoir-tablet-") as folder:
        url = f"sqlite:///{Path(folder) / 'comptoir.db'}"
        env = {
            **os.environ,
            "COMPTOIR_DATABASE_URL": url,
            "COMPTOIR_RECOMMENDER_DIR": str(Path(folder) / "recommender"),
        }
        shop = DemoShop(create_app({"DATABASE_URL": url}), None, env)  # type: ignore[arg-type]
        steps = [("db", "upgrade"), ("seed", "--no-keys"), ("seed-planogram",)]
        if train:
            steps += [("seed-sales",), ("recommender", "train")]
        for step in steps:
            print(f"  flask {' '.join(step)}", file=sys.stderr, flush=True)
            shop.flask(*step)
        shop.server = start_gunicorn(
            url,
            Path(folder) / "gunicorn.log",
            threads=8,
            env={
                "COMPTOIR_RECOMMENDER_DIR": env["COMPTOIR_RECOMMENDER_DIR"],
                **{k: str(v) for k, v in (server_env or {}).items()},
            },
        )
        try:
            yield shop
        finally:
            stop_gunicorn(shop.server)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
