"""`smeflow worker`: serve the scheduled flows (deadline sweep, reminders, mail outbox).

Embedded mode (PREFECT_API_URL not set in the environment): the worker starts a local
`prefect server start --host 127.0.0.1 --port <prefect_port>` beside itself, with Prefect's state
(a SQLite database) under `<data_dir>/prefect`, waits until it is healthy, serves the flows
against it and stops it on exit. Prefect's temporary ephemeral API would run no schedules.

Shared mode (PREFECT_API_URL set): the worker serves against that server and starts none. Run a
shared `prefect server start` with its database on PostgreSQL
(PREFECT_SERVER_DATABASE_CONNECTION_URL=postgresql+asyncpg://...), then `smeflow worker` with the
same PREFECT_API_URL and SMEFLOW_* settings on as many machines as needed: the server hands each
scheduled run to exactly one of them, and the flows are idempotent besides.

Scaling out with a work pool instead (Prefect's own workers pick the runs up from the pool; the
schedules live on the server, so no `smeflow worker` runs then):

    export PREFECT_API_URL=http://prefect.example:4200/api
    prefect work-pool create smeflow --type process
    smeflow deploy --pool smeflow          # workflows.schedules.deploy_to_pool: registers the 3 deployments
    prefect worker start --pool smeflow    # on each machine, with smeflow installed and SMEFLOW_* set
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from config.settings import Settings
from services.dashboard.workers import Heartbeat

HEALTH_TIMEOUT_SECONDS = 180.0  # a first start migrates its database: minutes on a busy 2-core machine
STOP_TIMEOUT_SECONDS = 15.0


class PrefectServerError(RuntimeError):
    """The local Prefect server did not start."""


def _server_needed(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether to start a local Prefect server: no PREFECT_API_URL in the environment."""
    return not environ.get("PREFECT_API_URL", "").strip()


def _server_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({
        "PREFECT_HOME": str((settings.data_dir / "prefect").resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    })
    return env


def _prefect_command() -> list[str]:
    return [sys.executable, "-m", "prefect"]


def start_server(settings: Settings, *, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on 127.0.0.1:<prefect_port> and wait until it answers /api/health."""
    port = settings.prefect_port
    _check_port_free(port)
    home = settings.data_dir / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    log_path = log_file or home / "server.log"
    with log_path.open("ab") as log:
        # Its own session: Ctrl-C reaches only the worker, which stops the server after the runner.
        proc = subprocess.Popen(
            [*_prefect_command(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=_server_env(settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(proc, f"http://127.0.0.1:{port}/api/health", log_path)
    except BaseException:
        stop_server(proc)
        raise
    return proc


def _check_port_free(port: int) -> None:
    # Otherwise another server on the port (say a leftover one) could answer our health check.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a TIME_WAIT port is free
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PrefectServerError(
                f"port {port} on 127.0.0.1 is in use, so no local Prefect server can start there; set "
                f"SMEFLOW_PREFECT_PORT to a free port, or PREFECT_API_URL to use a running Prefect server") from exc


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log_path: Path,
                  timeout: float = HEALTH_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PrefectServerError(f"the local Prefect server exited with code {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise PrefectServerError(f"the local Prefect server did not answer {url} within {timeout:.0f} s; "
                             f"see {log_path}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server subprocess: SIGTERM, then SIGKILL if it has not exited in 15 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _serve(settings: Settings, api_url: str) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from workflows.schedules import serve_all

    with temporary_settings(updates={PREFECT_API_URL: api_url}):  # even if prefect was imported before
        serve_all(settings)


def _heartbeat(settings: Settings) -> Heartbeat | None:
    """This worker's state and heartbeat in the database (the dashboard's 后台任务); None, with a warning,
    when the database cannot take it (the worker still serves)."""
    from sqlalchemy.exc import SQLAlchemyError

    from services.db.session import make_engine, make_session_factory

    beat = Heartbeat(make_session_factory(make_engine(settings.database_url)), settings.worker_heartbeat_seconds)
    try:
        beat.state("starting")
    except SQLAlchemyError as exc:
        print(f"smeflow worker: cannot record its state for the dashboard ({type(exc).__name__}); "
              f"run `smeflow init` to migrate the database", file=sys.stderr)
        return None
    return beat


def run_worker(settings: Settings) -> None:
    """Serve the flows on their schedules until Ctrl-C or SIGTERM; start a local Prefect server if needed.
    The worker's state (starting, serving with a heartbeat, failed with the reason, stopped) is recorded
    for the dashboard."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    settings.audit_key()  # the daily statement needs it: generated now, or a refused key stops the start
    server: subprocess.Popen[bytes] | None = None
    previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)  # the runner installs its own later
    beat = _heartbeat(settings)
    final, detail = "stopped", None
    try:
        if _server_needed():
            server = start_server(settings)
            # in the environment too, for the flow-run subprocesses of the runner
            os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{settings.prefect_port}/api"
        if beat is not None:
            beat.start()
        _serve(settings, os.environ["PREFECT_API_URL"])
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        final, detail = "failed", str(exc) or type(exc).__name__
        raise
    finally:
        # stopping: a late interrupt must not turn a clean stop into death by signal (exit status -2)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            stop_server(server)
        if beat is not None:
            try:
                beat.stop(final, detail)
            except Exception as exc:  # the worker is exiting anyway: say why the row is stale
                print(f"smeflow worker: could not record its final state ({type(exc).__name__})", file=sys.stderr)
