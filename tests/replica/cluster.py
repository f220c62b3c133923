"""A throw-away PostgreSQL primary and streaming replica in a temporary folder, on two free ports.

Made with the machine's own PostgreSQL binaries (initdb, pg_ctl, pg_basebackup); the machine's
cluster on 5432 is never touched. PostgreSQL refuses to run as root: as root, the binaries run as
the `postgres` OS user, which owns the folder (its unix sockets live there too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

BIN = Path(os.environ.get("VBP_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
#: Settings for both servers: streaming replication, and no durability (a test cluster).
SETTINGS = """
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 4
hot_standby = on
hot_standby_feedback = on
fsync = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 60
"""


def binaries_missing() -> list[str]:
    return [name for name in ("initdb", "pg_ctl", "pg_basebackup") if not (BIN / name).is_file()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ReplicaPair:
    """Start with `start()`, end with `stop()` (immediate shutdown, folder removed)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="vbp-replica-"))
        self.primary_port, self.replica_port = free_port(), free_port()
        while self.replica_port == self.primary_port:
            self.replica_port = free_port()
        self.started: list[Path] = []

    def _run(self, *args: str) -> None:
        command = [str(BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.root, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    def _configure(self, data: Path, port: int) -> None:
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS + f"port = {port}\nunix_socket_directories = '{self.root}'\n")

    def _start(self, data: Path) -> None:
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / f"{data.name}.log"), "-w", "start")
        self.started.append(data)

    def start_primary(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, OS_USER, OS_USER)
        primary = self.root / "primary"
        self._run("initdb", "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._configure(primary, self.primary_port)
        self._start(primary)

    def start_replica(self) -> None:
        """Copy the running primary and stream from it (writes meanwhile follow by streaming)."""
        replica = self.root / "replica"
        # -R writes standby.signal and primary_conninfo; -X stream brings the WAL along.
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
            "-D", str(replica), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        self._configure(replica, self.replica_port)
        self._start(replica)

    def stop(self) -> None:
        for data in reversed(self.started):
            with contextlib.suppress(RuntimeError):  # already down; the folder goes anyway
                self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, *, replica: bool = False, database: str = "postgres") -> str:
        port = self.replica_port if replica else self.primary_port
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"


def wait_for_replay(primary: Engine, replica: Engine, *, timeout: float = 30.0) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with primary.connect() as conn:
        target = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    deadline = time.monotonic() + timeout
    with replica.connect() as conn:
        while True:
            done = conn.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)"), {"t": target}
            ).scalar()
            conn.rollback()
            if done:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica did not replay up to {target}")
            time.sleep(0.01)


def set_replay_paused(replica: Engine, paused: bool) -> None:
    """Pause (or resume) WAL replay on the replica, returning once it is in effect."""
    with replica.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"))
        conn.commit()
        if paused:
            while conn.execute(text("SELECT pg_get_wal_replay_pause_state()")).scalar() != "paused":
                conn.rollback()
                time.sleep(0.01)


def engine(url: str) -> Engine:
    return create_engine(url, pool_size=2, max_overflow=2)
