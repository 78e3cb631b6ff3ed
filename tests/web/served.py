"""`smeflow serve` in a subprocess (the real command line, uvicorn and settings from the environment),
for the tests of what only a real server shows: start-up refusals, cookies, forwarded headers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def serve_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a served app: no inherited SMEFLOW_* but these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMEFLOW_")}
    env |= {"SMEFLOW_DATABASE_URL": database_url, "SMEFLOW_DATA_DIR": str(data_dir),
            "SMEFLOW_ARGON2_TIME_COST": "1", "SMEFLOW_ARGON2_MEMORY_KIB": "64"}
    env |= {f"SMEFLOW_{k.upper()}": v for k, v in settings.items()}
    return env


@contextmanager
def served(env: dict[str, str], log: Path) -> Iterator[str]:
    """The base URL of `smeflow serve --port 0` started with `env`; stopped on exit."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", "0"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90  # a readiness wait, generous on a loaded machine
        while time.monotonic() < deadline:
            found = RUNNING.search(log.read_text())
            if found:
                yield f"http://127.0.0.1:{found.group(1)}"
                return
            assert proc.poll() is None, f"smeflow serve exited {proc.returncode}: {log.read_text()}"
            time.sleep(0.1)
        raise AssertionError(f"smeflow serve did not start: {log.read_text()}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def refused_start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`smeflow serve` that should refuse to start: its exit and output."""
    return subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
