"""Commands: run the whole service, or just a worker."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import click
from aiosmtpd.controller import Controller
from flask import Flask

from hotline import migrate, service_file, worker_pool
from hotline.app import create_app
from hotline.cli.base import cli, current_app_of
from hotline.devserver import serve
from hotline.embedded_redis import EmbeddedRedis, die_with_parent
from kernel.config import ConfigError, Settings, load_settings
from kernel.private_files import private_dir, write_private
from kernel.services import services_of
from mailin.smtp import make_server

# A warm stop lets a job being sent finish; a worker still busy after this is killed.
WORKER_STOP_SECONDS = 15


def _banner(settings: Settings, host: str) -> str:
    base = settings.public_base_url
    return "\n".join(
        [
            "",
            f"Sev-1 Hotline is running on http://{host}:{settings.port}",
            f"  database : {settings.database_url}",
            f"  redis    : {settings.redis_url}",
            "",
            "Give these to your Twilio number (Phone Numbers > your number > Voice):",
            f"  A call comes in  : POST {base}/ivr/voice",
            f"  Call status      : POST {base}/ivr/status",
            f"  Primary handler fails : POST {base}/ivr/fallback",
            "",
            f"Dashboard: {base}/dashboard/   Health: {base}/healthz",
            f"Phone simulator (Twilio stand-in) port: {settings.simulator_port}",
            "Try a call without Twilio (another terminal): .venv/bin/hotline call",
            "Load demo data first if you have not: .venv/bin/hotline demo",
            "Press Ctrl-C to stop everything (or send SIGTERM or SIGINT to this process).",
            "",
        ]
    )


def _raise_exit(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


@cli.command("run")
@click.option(
    "--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="$HOST or 127.0.0.1"
)
def run(host: str) -> None:
    """Start everything on embedded defaults: migrations, Redis, one worker, the web app."""

    # Line by line even into a file or pipe: what a stopped or hung run last said is kept.
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    # `kill -USR1 <pid>` prints every thread's stack: how to see where a stuck run is stuck.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    settings = _simulator_port_for(settings)
    migrate.upgrade(settings.database_url)

    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        if embedded.reclaim_orphan():
            click.echo("Stopped a Redis server left behind by an earlier run that crashed.")
        if embedded.is_answering():
            raise click.ClickException(
                f"the hotline already seems to be running here (Redis answers at {embedded.url})"
            )
        embedded.start()
        os.environ["REDIS_URL"] = embedded.url
    # Own session, so Ctrl-C reaches only us; we stop the worker (warm) before Redis.
    private_dir(settings.data_dir)
    reclaim_worker(settings.data_dir / "worker.pid")
    worker = subprocess.Popen(
        [sys.executable, "-m", "hotline", "worker"],
        start_new_session=True,
        # Killed with us: a SIGKILLed `hotline run` leaves no worker behind.
        preexec_fn=die_with_parent,
    )
    write_private(settings.data_dir / "worker.pid", str(worker.pid))
    # Both stop the service cleanly, also when a shell started it in the background with
    # SIGINT ignored (Python then installs no Ctrl-C handler of its own).
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGINT, _raise_exit)
    intake = None
    try:
        app = create_app()
        intake = _start_mail_intake(app)
        click.echo(_banner(load_settings(), host))
        if intake is not None:
            mail = load_settings().mail
            click.echo(
                f"Email intake (SMTP): {intake.hostname}:{intake.port} for "
                f"{', '.join(mail.addresses)}\n"
                f"  Try it: .venv/bin/hotline mail send --server {intake.hostname}:{intake.port} "
                '--from <a contact\'s email> --subject "PIN <your PIN> Workflow stopped"\n'
            )
        service_file.write(
            settings.data_dir,
            service_file.RunningService(
                host, settings.port, settings.simulator_port, os.getpid(), settings.public_base_url
            ),
        )
        serve(app, host, settings.port)
    except KeyboardInterrupt:
        pass
    finally:
        if intake is not None:
            intake.stop()
        service_file.remove(settings.data_dir)
        click.echo("Stopping worker and Redis...")
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=WORKER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                click.echo(f"The worker did not stop in {WORKER_STOP_SECONDS} s; killing it.")
                # Its whole session: the pool's forked workers, relay and maintenance too.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        (settings.data_dir / "worker.pid").unlink(missing_ok=True)
        if embedded is not None:
            embedded.stop()
        click.echo("Stopped.")


def _start_mail_intake(app: Flask) -> Controller | None:
    """The SMTP intake in this process; another free port when the default one is taken
    (SMTP_INTAKE_PORT unset), none when it cannot listen (said, not fatal)."""
    services = services_of(app)
    port = services.settings.mail.intake_port
    if not os.environ.get("SMTP_INTAKE_PORT") and not service_file.port_is_free(port):
        port = service_file.free_port()
        click.echo(f"Port {services.settings.mail.intake_port} is taken; email intake on {port}.")
    server = make_server(services, port=port)
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        click.echo(f"The email intake could not start ({exc}); the rest runs without it.")
        return None
    return server


def _simulator_port_for(settings: Settings) -> Settings:
    """Settings whose phone-simulator port is free: another when the default one is taken.

    Only when SIMULATOR_PORT is not set and the simulator stands in for Twilio: an explicit
    port is the operator's choice, and a real Twilio account needs no simulator.
    """
    simulated = settings.twilio_api_base_url.startswith("http://127.0.0.1:")
    if os.environ.get("SIMULATOR_PORT") or not simulated:
        return settings
    if service_file.port_is_free(settings.simulator_port):
        return settings
    port = service_file.free_port()
    click.echo(
        f"Port {settings.simulator_port} (the phone simulator's default) is taken; using port "
        f"{port} instead. `hotline call` finds it by itself."
    )
    # The web app and the worker (a child process) both read it from the environment.
    os.environ["SIMULATOR_PORT"] = str(port)
    return load_settings()


def reclaim_worker(pid_path: Path) -> None:
    """Stop a `hotline worker` an earlier, crashed `hotline run` left running."""
    try:
        pid = int(pid_path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if b"hotline" in cmdline and b"worker" in cmdline:
        click.echo(f"Stopping worker {pid} left behind by an earlier run that crashed.")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


@cli.command("worker")
@click.option(
    "--count",
    "-n",
    type=click.IntRange(1, 64),
    default=lambda: int(os.environ.get("WORKER_COUNT") or 1),
    show_default="$WORKER_COUNT or 1",
    help="How many RQ worker processes rq.WorkerPool keeps running.",
)
@click.option("--burst", is_flag=True, help="Send what is due, then exit.")
@click.pass_context
def worker(ctx: click.Context, count: int, burst: bool) -> None:
    """Run the notification relay and RQ workers (the notify queue, with its scheduler)."""

    app = current_app_of(ctx)
    if burst:
        worker_pool.run_burst(app, count)
    else:
        worker_pool.run(app, count)
