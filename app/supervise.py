"""`smeflow up`: the web service, the worker beside it and (in development) the local mail sink.

The worker runs as a child process in its own session, so Ctrl-C reaches only this process, which
stops the web service and then the worker (SIGTERM). A worker that exits on its own (a startup
failure such as its Prefect port being taken, or a crash later) stops the web service too, with a
message saying so, and `up` exits 1: serving pages while no deadline is swept and no mail is sent
would hide the failure (the dashboard shows each worker's state as well).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from types import FrameType

import typer
import uvicorn

from app.mailsink import MailSinkError, start_sink
from config.settings import Settings
from services.mail.mailbox import mailbox_dir, sink_enabled

STOP_TIMEOUT_SECONDS = 30


def _start_sink(settings: Settings) -> object | None:
    if not sink_enabled(settings):
        return None
    try:
        sink = start_sink(settings)
    except MailSinkError as exc:
        if settings.mail_sink == "on":
            typer.echo(f"错误：{exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"smeflow：{exc}", err=True)
        return None
    typer.echo(f"smeflow：本地邮件接收器已在 {settings.smtp_host}:{settings.smtp_port} 启动，所有邮件保存在 "
               f"{mailbox_dir(settings)}（在 /mailbox 页面查看）")
    return sink


def _stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_up(settings: Settings, *, host: str, port: int) -> int:
    """Serve until Ctrl-C (0) or until the worker exits on its own (1)."""
    sink = _start_sink(settings)
    worker = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], start_new_session=True)
    typer.echo(f"smeflow：网页服务 http://{host}:{port}/ ，后台任务进程号 {worker.pid}")
    server = uvicorn.Server(uvicorn.Config("app.web.asgi:app", host=host, port=port, log_level="info"))
    stopping = threading.Event()
    worker_died = threading.Event()

    def watch() -> None:
        code = worker.wait()
        if stopping.is_set():
            return
        worker_died.set()
        typer.echo(
            f"\nsmeflow：错误：后台任务进程已退出（代码 {code}；smeflow worker，进程号 {worker.pid}），截止期限检查、"
            f"提醒和邮件发送都不会执行，网页服务随之停止。后台任务进程自己的错误信息见上方。",
            err=True)
        server.should_exit = True

    threading.Thread(target=watch, name="smeflow-watch-worker", daemon=True).start()
    # uvicorn re-raises the signal that stopped it once it is done: SIGTERM must still reach `finally`
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stopping.set()
        _stop_worker(worker)
        if sink is not None:
            sink.stop()  # type: ignore[attr-defined]
    return 1 if worker_died.is_set() else 0
