"""The `bwv-review` command: serving, migrations, the demo, first users, audit checks, analysis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from app.core.config import get_settings
from app.establishment.models import EstablishmentKind


@click.group()
def main() -> None:
    """bwv-review: body-worn video review for use-of-force incidents."""
    from app.core.logging import configure_logging

    configure_logging()


def _alembic_config():  # type: ignore[no-untyped-def]
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "alembic"))
    cfg.attributes["configure_logging"] = False
    return cfg


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from alembic import command

    command.upgrade(_alembic_config(), "head")
    click.echo("database is up to date")


@main.command("create-establishment")
@click.option("--code", required=True, help="Short code, e.g. LPI")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice([k.value for k in EstablishmentKind]), default="prison", show_default=True)
def create_establishment(code: str, name: str, kind: str) -> None:
    """Add an establishment."""
    from fastapi import HTTPException
    from pydantic import ValidationError

    from app.audit.service import SYSTEM, record
    from app.core.db import unit_of_work
    from app.establishment.models import EstablishmentCreate
    from app.establishment.service import create_establishment as create

    with unit_of_work() as session:
        try:
            est = create(session, EstablishmentCreate(code=code.upper(), name=name, kind=EstablishmentKind(kind)))
        except HTTPException as exc:  # the code is taken
            raise click.UsageError(str(exc.detail)) from None
        except ValidationError as exc:
            raise click.UsageError("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())) from None
        record(
            session,
            SYSTEM,
            "establishment_create",
            object_type="establishment",
            object_id=est.id,
            establishment_id=est.id,
            detail={"code": est.code, "via": "cli"},
        )
        click.echo(f"created establishment {est.code} (id {est.id})")


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(["admin", "coordinator", "staff", "governor"]), required=True)
@click.option("--establishment", "establishment_code", default=None, help="Establishment code (not for admins)")
@click.option("--staff-number", default=None, help="For role staff: the officer's staff number")
@click.password_option(help="At least 12 characters")
def create_user(
    username: str, display_name: str, role: str, establishment_code: str | None, staff_number: str | None, password: str
) -> None:
    """Add a user (for example the first admin)."""
    from sqlmodel import select

    from app.audit.service import SYSTEM, record
    from app.auth.models import Role, User
    from app.auth.service import create_user as create
    from app.core.db import unit_of_work
    from app.establishment.models import Establishment
    from app.staff.models import StaffMember

    username = username.strip().lower()
    with unit_of_work() as session:
        est_id = None
        staff_id = None
        if establishment_code:
            est = session.exec(select(Establishment).where(Establishment.code == establishment_code.upper())).first()
            if est is None:
                raise click.UsageError(f"no establishment with code {establishment_code}")
            est_id = est.id
        if staff_number:
            sm = session.exec(
                select(StaffMember).where(
                    StaffMember.establishment_id == est_id, StaffMember.staff_number == staff_number
                )
            ).first()
            if sm is None:
                raise click.UsageError(f"no staff member {staff_number} at that establishment")
            staff_id = sm.id
        if session.exec(select(User).where(User.username == username)).first():
            raise click.UsageError(f"username {username} is taken")
        try:
            user = create(
                session,
                username=username,
                password=password,
                display_name=display_name,
                role=Role(role),
                establishment_id=est_id,
                staff_member_id=staff_id,
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        record(
            session,
            SYSTEM,
            "user_create",
            object_type="user",
            object_id=user.id,
            establishment_id=est_id,
            detail={"username": user.username, "role": role, "via": "cli"},
        )
        click.echo(f"created user {user.username} ({role})")


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Re-compute the hash chain; exits 1 if any entry was edited or removed."""
    from app.audit.service import verify_chain
    from app.core.db import unit_of_work

    with unit_of_work() as session:
        checked, problems = verify_chain(session)
    if problems:
        for p in problems:
            click.echo(f"entry {p.event_id}: {p.problem}", err=True)
        click.echo(f"audit trail BROKEN: {len(problems)} problem(s) in {checked} entries", err=True)
        sys.exit(1)
    click.echo(f"audit trail intact: {checked} entries")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def analyse(args: tuple[str, ...]) -> None:
    """Analyse one video file: `bwv-review analyse FILE [--json]`."""
    from workers.video.cli import main as analyse_main

    sys.exit(analyse_main(list(args)))


@main.command()
@click.option("--if-empty", is_flag=True, help="Only when the database has no establishments yet")
def demo(if_empty: bool) -> None:
    """Load a small demo: an establishment, users of each role, incidents, generated footage, ratings."""
    from app.demo import load_demo

    load_demo(if_empty=if_empty, echo=click.echo)


@main.command()
@click.option("--concurrency", default=1, show_default=True)
@click.option("--beat/--no-beat", default=True, help="Run the periodic scheduler inside this worker")
def worker(concurrency: int, beat: bool) -> None:
    """Run a Celery worker (with beat, for the embedded set-up)."""
    s = get_settings()
    argv = [
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "-Q",
        s.celery_task_queue,
        "--hostname",
        f"bwv@{os.uname().nodename}",
    ]
    if beat:
        s.data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--beat", "--schedule", str(s.data_dir / "celerybeat-schedule")]
    from workers.celery_app import celery

    celery.worker_main(argv)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--with-worker/--no-worker", default=True, help="Also start a Celery worker process")
@click.option("--reload", is_flag=True)
def serve(host: str, port: int, with_worker: bool, reload: bool) -> None:
    """Serve the web app (and, by default, a worker alongside it)."""
    import uvicorn

    child = None
    if with_worker:
        child = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"])
    # uvicorn shuts down on SIGTERM (docker, systemd, kill), then raises the signal again under the handler it
    # found. With the default one, that ends this process before `finally` can stop the worker, which would be
    # left running on its own; this handler turns it into an exit that runs `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            proxy_headers=True,
            log_level="info",
        )
    finally:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


# Domains add their own commands in `app/<domain>/cli.py` as a list `commands` of click commands.
CLI_MODULES = ["app.footage.cli", "app.rating.cli", "app.report.cli", "app.incident.cli"]


def _load_domain_commands() -> None:
    import importlib

    for name in CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        for command in module.commands:
            main.add_command(command)


_load_domain_commands()

if __name__ == "__main__":
    main()
