"""Throwaway real servers for the test suite.

The suite runs against a real PostgreSQL as well as SQLite, so tests need a server that is
cheap to start, isolated from anything else on the machine and gone afterwards. Each server
gets a fresh data directory in a new temporary directory and a free TCP port; it is stopped
and deleted on exit, also when the body raises.

PostgreSQL refuses to run as root, and CI runs as root: then the server tools run as the
``postgres`` system user, in a directory that user can reach (pytest's own temporary
directories under ``/tmp/pytest-of-root`` are private to root).

Developers can keep one running by hand::

    python tests/servers.py postgres
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import requests

DATABASE_NAME = "comptoir_test"
SUPERUSER = "postgres"
INSTALL_HINT = (
    "install the PostgreSQL server: `apt-get install -y postgresql` "
    "(or run `scripts/ensure-system-packages.sh postgresql`)"
)
LOG_TAIL_LINES = 40
ROOT = Path(__file__).resolve().parents[1]
COMMAND_TIMEOUT = 60


def find_postgres_bindir() -> Path:
    """Locate ``initdb`` and friends, which Debian keeps off ``PATH``."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            result = subprocess.run(
                [pg_config, "--bindir"],
                capture_output=True,
                text=True,
                check=True,
                timeout=COMMAND_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError):
            pass
        else:
            bindir = Path(result.stdout.strip())
            if (bindir / "initdb").is_file():
                return bindir
    # pg_config may come from libpq-dev alone; the server lives in a versioned directory.
    installed = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if installed:
        return max(installed, key=lambda bindir: _version_key(bindir.parent.name))
    raise RuntimeError(f"No PostgreSQL server binaries (initdb) found; {INSTALL_HINT}.")


def _version_key(name: str) -> tuple[int, ...]:
    """Order ``9.6`` before ``15`` before ``16``, which string order gets wrong."""
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def free_port() -> int:
    """Ask the kernel for a TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Runner:
    """Runs server tools as the current user, or as ``postgres`` when we are root."""

    def __init__(self) -> None:
        self.as_root = os.geteuid() == 0
        self.owner: pwd.struct_passwd | None = None
        if self.as_root:
            try:
                self.owner = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise RuntimeError(
                    f"Running as root but there is no '{SUPERUSER}' system user to run "
                    f"PostgreSQL as; {INSTALL_HINT}."
                ) from None
        # A PG* variable from the developer's shell (PGSSLMODE, PGHOST...) must not leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.env["LC_ALL"] = "C"

    def give(self, path: Path) -> None:
        """Hand a directory we created to the user the server runs as."""
        if self.owner is not None:
            os.chown(path, self.owner.pw_uid, self.owner.pw_gid)

    def wrap(self, command: Sequence[str]) -> list[str]:
        """Prefix a command so it runs as the server's user."""
        if not self.as_root:
            return list(command)
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.access(p, os.X_OK)), None
        )
        if runuser:
            return [runuser, "-u", SUPERUSER, "--", *command]
        return ["su", "-s", "/bin/sh", SUPERUSER, "-c", shlex.join(command)]

    def run(self, command: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
        """Run a tool to completion; on failure say which step broke and what it printed."""
        try:
            result = subprocess.run(
                self.wrap(command),
                cwd="/",  # the server user may not be able to enter our cwd (/root)
                env=self.env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                start_new_session=True,  # Ctrl-C is for us; teardown stops the server
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{what} timed out after {COMMAND_TIMEOUT}s") from exc
        if result.returncode != 0:
            raise RuntimeError(
                f"{what} failed (exit {result.returncode}): {shlex.join(command)}\n"
                f"{result.stdout}{result.stderr}".rstrip()
            )
        return result


def _log_tail(log_file: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Last lines of the server log, which is where PostgreSQL explains a failed start."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def _start_postgres(
    runner: _Runner, bindir: Path, data_dir: Path, socket_dir: Path, log_file: Path
) -> int:
    """Start the server on a free port and return that port."""
    last_error: RuntimeError | None = None
    # Another process may grab the port between free_port() and the bind; try a few.
    for _attempt in range(3):
        port = free_port()
        options = " ".join(
            [
                f"-p {port}",
                f"-k {shlex.quote(str(socket_dir))}",
                "-c listen_addresses=127.0.0.1",
                # Durability is worthless for a database deleted after the run.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        command = [
            str(bindir / "pg_ctl"),
            "-D", str(data_dir),
            "-l", str(log_file),
            "-w", "-t", "30",
            "-o", options,
            "start",
        ]  # fmt: skip
        try:
            runner.run(command, "pg_ctl start")
        except RuntimeError as exc:
            last_error = exc
            if "already in use" not in _log_tail(log_file):
                break
        else:
            return port
    assert last_error is not None
    raise last_error


def _stop_postgres(runner: _Runner, bindir: Path, data_dir: Path) -> None:
    """Stop the server without a checkpoint: its data is about to be deleted anyway."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    command = [str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"]
    try:
        runner.run(command, "pg_ctl stop")
    except RuntimeError:
        # Never leave an orphan server behind just because pg_ctl could not stop it.
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


@contextlib.contextmanager
def postgres_server(base_dir: Path) -> Iterator[str]:
    """Run a throwaway PostgreSQL and yield a SQLAlchemy URL to its empty test database.

    ``base_dir`` receives a copy of the server log (``postgres.log``) when the server stops;
    the data itself lives in a fresh directory under /tmp so the ``postgres`` user can reach
    it when we run as root.
    """
    bindir = find_postgres_bindir()
    runner = _Runner()
    base_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="comptoir-pg-", dir="/tmp" if runner.as_root else None))
    data_dir = root / "data"
    socket_dir = root / "socket"
    log_file = root / "postgres.log"
    try:
        socket_dir.mkdir()
        if runner.as_root:
            root.chmod(0o755)
            runner.give(root)
            runner.give(socket_dir)
        initdb = [
            str(bindir / "initdb"),
            "-D", str(data_dir),
            "-A", "trust",
            "-U", SUPERUSER,
            "--no-sync",
            "-E", "UTF8",
            "--locale=C",
        ]  # fmt: skip
        runner.run(initdb, "initdb")
        try:
            port = _start_postgres(runner, bindir, data_dir, socket_dir, log_file)
            createdb = [
                str(bindir / "createdb"),
                "-h", "127.0.0.1",
                "-p", str(port),
                "-U", SUPERUSER,
                DATABASE_NAME,
            ]  # fmt: skip
            runner.run(createdb, "createdb")
        except RuntimeError as exc:
            raise RuntimeError(
                f"{exc}\n--- end of server log (kept in {base_dir / 'postgres.log'}) ---\n"
                f"{_log_tail(log_file)}"
            ) from None
        yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE_NAME}"
    finally:
        try:
            _stop_postgres(runner, bindir, data_dir)
        finally:
            with contextlib.suppress(OSError):
                shutil.copyfile(log_file, base_dir / "postgres.log")
            shutil.rmtree(root, ignore_errors=True)


# --- gunicorn serving Comptoir, for tests and benchmarks through real HTTP ---------------


UNTHROTTLED_ENV = {
    "COMPTOIR_RATELIMIT_COLLECT_PER_ADDRESS": "1000000 per minute",
    "COMPTOIR_RATELIMIT_COLLECT_PER_SITE": "1000000 per minute",
    "COMPTOIR_RATELIMIT_WRITES_PER_KEY": "1000000 per minute",
}


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def get(self, path: str, key: str, **kwargs: Any) -> requests.Response:
        return requests.get(
            self.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30, **kwargs
        )


def start_gunicorn(
    database_url: str,
    log: Path,
    workers: int = 2,
    threads: int = 4,
    env: dict[str, str] | None = None,
    log_level: str = "warning",
    port: int | None = None,
    start_timeout: float = 30.0,
) -> LiveServer:
    """Serve Comptoir; ``env`` adds variables (``COMPTOIR_STREAM_MAX_PER_WORKER``...).

    Rate limits are on with limits no test or bench reaches, their counters next to the log
    (never in the checkout's instance folder, shared by every run). ``port``: the port of a
    server stopped earlier (a restart, as the clients see it).
    """
    port = port or free_port()
    env = {
        **os.environ,
        "COMPTOIR_DATABASE_URL": database_url,
        **UNTHROTTLED_ENV,
        "COMPTOIR_RATELIMIT_STORAGE_URI": f"comptoir-sqlite:///{log.with_suffix('.limits.db')}",
        **(env or {}),
    }
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--worker-class",
                "store_api.serving.DeadlineThreadWorker",
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                log_level,
                "--logger-class",
                "store_api.serving.SafeAccessLogger",
                # Not ~/.gunicorn/gunicorn.ctl, shared by every gunicorn of the user.
                "--no-control-socket",
                "store_api:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return LiveServer(url, process, log)
        except (OSError, requests.RequestException):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")


def stop_gunicorn(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


# --- nginx in front, as config/nginx/comptoir.conf ships it ------------------------------------

NGINX = Path("/usr/sbin/nginx")
NGINX_CONF = ROOT / "config" / "nginx" / "comptoir.conf"


class NginxFront:
    def __init__(self, url: str, process: subprocess.Popen[bytes], prefix: Path) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.process = process
        self.prefix = prefix

    def log_tail(self) -> str:
        return _log_tail(self.prefix / "error.log")


def render_nginx_conf(upstream: str, port: int, access_log: Path) -> str:
    """The shipped server file with the test's addresses; everything else exactly as shipped."""
    text = NGINX_CONF.read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server {upstream};",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "access_log /var/log/nginx/comptoir.access.log": f"access_log {access_log}",
    }
    for old, new in replacements.items():
        if text.count(old) != 1:
            raise RuntimeError(f"{NGINX_CONF} no longer has exactly one {old!r}")
        text = text.replace(old, new)
    return text


def start_nginx(upstream: str) -> NginxFront:
    """nginx (Debian's binary) on a free loopback port in front of ``upstream`` (host:port),
    with config/nginx/comptoir.conf as shipped."""
    port = free_port()

    def site(prefix: Path) -> str:
        return render_nginx_conf(upstream, port, prefix / "access.log")

    return serve_nginx(site, f"http://127.0.0.1:{port}")


def serve_nginx(site: Callable[[Path], str], url: str, *, verify: bool | str = True) -> NginxFront:
    """nginx serving ``site(prefix)`` (a file for the ``http { }`` block), ready once
    ``url``/healthz answers 200.

    Unprivileged: its own prefix with config, pid, logs and temporary files, no system file
    touched. As root (CI), nginx's workers drop to ``nobody``, so the prefix is readable by all.
    """
    if not NGINX.exists():
        raise RuntimeError("nginx is missing: scripts/ensure-system-packages.sh nginx")
    prefix = Path(tempfile.mkdtemp(prefix="comptoir-nginx-"))
    prefix.chmod(0o755)
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / name).mkdir(mode=0o777)
        (prefix / name).chmod(0o777)
    (prefix / "comptoir.conf").write_text(site(prefix))
    (prefix / "nginx.conf").write_text(nginx_main_conf(prefix))
    with (prefix / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [str(NGINX), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    front = NginxFront(url, process, prefix)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_nginx(front, keep=True)
            raise RuntimeError(f"nginx exited: {(prefix / 'stderr.log').read_text()[-2000:]}")
        try:
            if requests.get(front.url + "/healthz", timeout=5, verify=verify).status_code == 200:
                return front
        except requests.RequestException:
            time.sleep(0.1)
    stop_nginx(front)
    raise RuntimeError("nginx did not start")


def nginx_main_conf(prefix: Path) -> str:
    """nginx.conf around the site file ``prefix/comptoir.conf``, everything in ``prefix``."""
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/comptoir.conf;
}}
"""


def stop_nginx(front: NginxFront, *, keep: bool = False) -> None:
    if front.process.poll() is None:
        front.process.terminate()  # fast shutdown: open client sockets are closed
        try:
            front.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            front.process.kill()
            front.process.wait()
    if not keep:
        shutil.rmtree(front.prefix, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    """Let `kill` tear the server down as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Keep a throwaway server running until Ctrl-C, for poking at it by hand."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("server", choices=["postgres"], help="which server to start")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    base_dir = Path(tempfile.mkdtemp(prefix="comptoir-servers-"))
    started = time.monotonic()
    try:
        with postgres_server(base_dir) as url:
            print(url, flush=True)
            print(
                f"{args.server} ready in {time.monotonic() - started:.1f}s; "
                "Ctrl-C stops it and deletes its data.",
                file=sys.stderr,
                flush=True,
            )
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    print(f"stopped; server log kept in {base_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
