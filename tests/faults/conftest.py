"""Fixtures of the fault suite: a PostgreSQL cluster of the test's own, to restart at will.

The machine's shared server cannot be restarted under other tests, so a test
that takes PostgreSQL away starts its own cluster (initdb, pg_ctl) on a free
port in a temporary folder: trust auth, fsync off for speed. Run as root, the
server runs as the ``postgres`` OS user (initdb refuses root). Without initdb
and pg_ctl the test is skipped, or fails under ``CI=true``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio


def _postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, or Debian's versioned folder."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in ``folder`` serving 127.0.0.1:``port``."""

    def __init__(self, bin_dir: Path, folder: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        # initdb refuses root: as root the cluster belongs to the postgres OS user.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    async def _run(self, tool: str, *args: str) -> None:
        command = [*self._as, str(self.bin_dir / tool), *args]
        result = await trio.run_process(
            command, capture_stdout=True, capture_stderr=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace')[-2000:]}\n{self.tail()}"
            )

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    async def init(self) -> None:
        await self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
            "-E", "UTF8",
        )  # fmt: skip

    async def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        await self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    async def stop(self, mode: str = "fast") -> None:
        await self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    async def restart(self, mode: str = "fast") -> None:
        # -l again: without it the new server writes to pg_ctl's stdout, a pipe
        # that would then never close.
        await self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", mode, "-w", "restart"
        )

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture
async def pg_cluster() -> AsyncIterator[Cluster]:
    """A fresh cluster, started; stopped and removed afterwards whatever happened."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        message = "initdb and pg_ctl are not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the PostgreSQL fault tests must run)")
        pytest.skip(message)
    # Not under pytest's tmp_path: the postgres OS user cannot enter root's 0700 folder.
    folder = Path(tempfile.mkdtemp(prefix="smpp-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(bin_dir, folder, _free_port())
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        with trio.CancelScope(shield=True):
            if cluster.running:
                try:
                    await cluster.stop("immediate")
                except RuntimeError as exc:
                    print(f"cluster not stopped: {exc}")
            shutil.rmtree(folder, ignore_errors=True)
