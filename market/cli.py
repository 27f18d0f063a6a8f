"""`market` command: database migrations, demo data, the server."""

from __future__ import annotations

import click

from market.settings import Settings


@click.group()
def main() -> None:
    """R&D task marketplace (技术创新众包平台)."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from market.db.migrate import upgrade

    settings = Settings.from_env()
    upgrade(settings.effective_database_url, revision)
    click.echo(f"database at {revision}: {_safe_url(settings.effective_database_url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    from market.db.migrate import downgrade

    downgrade(Settings.from_env().effective_database_url, revision)


@main.group()
def admin() -> None:
    """Administration."""


@admin.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", default="Admin", show_default=True)
@click.password_option()
def admin_create(email: str, display_name: str, password: str) -> None:
    """Create a platform admin."""
    from market.accounts.service import AccountService
    from market.db.engine import make_engine, make_session_factory

    settings = Settings.from_env()
    engine = make_engine(settings.effective_database_url)
    user = AccountService(make_session_factory(engine), settings).bootstrap_admin(
        email, password, display_name
    )
    click.echo(f"admin {user.email} created (id {user.id})")


@main.group()
def demo() -> None:
    """Demo data."""


@demo.command("load")
def demo_load() -> None:
    """Load the demo organisations, users, tasks and bids (skipped if already loaded)."""
    from market.demo.loader import load_demo

    settings = Settings.from_env()
    load_demo(settings, echo=click.echo)


@main.command()
@click.option("--host", default=None, help="default: MARKET_HOST or 127.0.0.1")
@click.option("--port", default=None, type=int, help="default: MARKET_PORT or 8000")
@click.option("--workers", default=1, show_default=True, type=int, help="server processes")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API with uvicorn (the production server set-up)."""
    import uvicorn

    settings = Settings.from_env()
    uvicorn.run(
        "market.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@main.command()
@click.option("--threads", default=4, show_default=True, type=int)
def worker(threads: int) -> None:
    """Run a background worker on MARKET_BROKER (redis or rabbitmq)."""
    from market.db.engine import make_engine
    from workers.runtime import run_worker

    settings = Settings.from_env()
    run_worker(settings, make_engine(settings.effective_database_url), threads)


@main.command()
def scheduler() -> None:
    """Run the scheduler: the outbox relay and the periodic scans (one per deployment)."""
    from market.db.engine import make_engine
    from workers.runtime import run_scheduler

    settings = Settings.from_env()
    run_scheduler(settings, make_engine(settings.effective_database_url))


@main.command()
def reconcile() -> None:
    """Compare the ledger with the payment provider; exit 1 on any difference."""
    from market.db.engine import make_engine
    from market.escrow.reconcile import run_and_record
    from market.jobs import build_job_context

    settings = Settings.from_env()
    ctx = build_job_context(settings, make_engine(settings.effective_database_url))
    try:
        report = run_and_record(ctx.sessions, ctx.gateway, settings.payments_key_namespace)
    finally:
        ctx.close()
    click.echo(
        f"provider movements {report.provider_movements}, ledger entries {report.ledger_entries}; "
        f"provider holds {report.provider_balance}, ledger {report.ledger_balance}"
    )
    for d in report.differences:
        click.echo(f"DIFFERENCE {d.kind}: {d.detail}")
    click.echo(
        "reconciled: no differences" if report.ok else f"{len(report.differences)} difference(s)"
    )
    raise SystemExit(0 if report.ok else 1)


@main.group("search")
def search_group() -> None:
    """Search index."""


@search_group.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from the database (the index is derived data)."""
    from market.discovery.rebuild import reindex

    reindex(Settings.from_env(), echo=click.echo)


@main.group()
def jobs() -> None:
    """Background work, by hand."""


@jobs.command("drain")
def jobs_drain() -> None:
    """Run every pending outbox handler now, in this process."""
    from market.db.engine import make_engine
    from market.jobs import build_job_context
    from market.outbox.dispatch import drain

    settings = Settings.from_env()
    ctx = build_job_context(settings, make_engine(settings.effective_database_url))
    try:
        click.echo(f"handlers run: {drain(ctx)}")
    finally:
        ctx.close()


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def run(host: str | None, port: int | None) -> None:
    """Embedded default: migrate, load the demo, serve on one machine."""
    from market.db.migrate import upgrade
    from market.demo.loader import DEMO_LOGINS, load_demo

    settings = Settings.from_env()
    upgrade(settings.effective_database_url)
    load_demo(settings, echo=click.echo)
    from market.discovery.rebuild import reindex

    # The demo loader fills the index; this refills a lost or emptied one.
    reindex(settings, progress_bar=False, only_if_empty=True, echo=click.echo)
    address = f"http://{host or settings.host}:{port or settings.port}"
    click.echo("")
    click.echo(f"Marketplace running at {address}  (API docs: {address}/schema/swagger)")
    click.echo(f"Web pages / 网页: {address}/web/tasks  (log in at {address}/web/login)")
    click.echo("Demo log-ins (the log-in page, or POST /auth/login):")
    for email, password, what in DEMO_LOGINS:
        click.echo(f"  {email:<24} {password:<16} {what}")
    click.echo("")
    import uvicorn

    uvicorn.run(
        "market.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
