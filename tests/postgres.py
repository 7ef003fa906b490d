"""A private PostgreSQL for tests: `initdb` and `pg_ctl` into a temporary folder, on a free port.

Like the private Redis, it never touches a server the machine already runs. The binaries come
from `EXMADO_TEST_PG_BIN`, the PATH, or Debian's `/usr/lib/postgresql/N/bin`. PostgreSQL refuses
to run as root, so as root the server runs as the `postgres` system user (`runuser`).
`EXMADO_TEST_PG_URL` names an existing server to use instead (its databases are made and
dropped per test).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2

from exmado_tui.services.localredis import free_port

HOW_TO_GET_THEM = "apt install postgresql (or set EXMADO_TEST_PG_URL to a server to use)"


def postgres_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, newest version first; None if absent."""
    named = os.environ.get("EXMADO_TEST_PG_BIN")
    if named:
        return Path(named)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version, reverse=True)
    return versions[0].parent if versions else None


def _version(initdb: Path) -> int:
    name = initdb.parent.parent.name
    return int(name) if name.isdigit() else 0


class PostgresServer:
    """A PostgreSQL cluster of its own in a temporary folder, listening on 127.0.0.1:`port`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        # Not below pytest's tmp folders: those are root-only and the server runs as `postgres`.
        self.folder = Path(tempfile.mkdtemp(prefix="exmado-pg-"))
        self.data = self.folder / "data"
        self.user = "postgres"

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8")
        self._pg_ctl(
            "start",
            "-w",
            "-t",
            "30",
            "-l",
            str(self.folder / "server.log"),
            "-o",
            (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
                "-c max_connections=200"
            ),
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `immediate` is the nearest thing to a crash."""
        self._pg_ctl("stop", "-w", "-t", "30", "-m", mode)

    def restart(self) -> None:
        self.stop("immediate")
        self.start()

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A throw-away database's URL; dropped afterwards."""
        with throwaway_database(self.admin_url) as url:
            yield url

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder, timeout=60)


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """A new database on the server of `admin_url`, dropped (with its connections) at the end."""
    name = f"exmado_test_{uuid.uuid4().hex[:10]}"
    _as_admin(admin_url, f"CREATE DATABASE {name}")
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        # A new connection: a test may have restarted the server in between.
        _as_admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _as_admin(admin_url: str, statement: str) -> None:
    admin = psycopg2.connect(admin_url, connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(statement)
    finally:
        admin.close()


def empty_database(url: str) -> None:
    """Drop every table of the database at `url`: the next store opened on it starts new."""
    _as_admin(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
