"""`smeflow serve` as a separate process for the HTTP benchmarks: started on a schema, waited for,
stopped with its whole process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`smeflow serve` in its own process group, on the benchmark's schema."""

    def __init__(self, url: str, workers: int, workdir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        script = Path(sys.executable).parent / "smeflow"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
        env = {**os.environ, "SMEFLOW_DATABASE_URL": url, "SMEFLOW_ENVIRONMENT": "test",
               "SMEFLOW_DATA_DIR": str(workdir)}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*command, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"smeflow serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/api/v1/tasks", timeout=5).status_code == 401:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"smeflow serve did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the server's process group (uvicorn and its workers), SIGKILL after 20 s."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

