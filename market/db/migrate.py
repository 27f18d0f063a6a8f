"""Alembic, driven from code so the installed package needs no alembic.ini on disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import renderers
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations.ops import MigrateOperation

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str) -> None:
    command.revision(alembic_config(database_url), message=message, autogenerate=True)


# -- PostgreSQL-only DDL in the generated migration ---------------------------------------
# Autogenerate sees the models only; the text search's SQL functions and n-gram index
# (market/tasks/text_search.py) exist on PostgreSQL alone. The initial migration gets them
# as op.execute() calls guarded by the dialect, written out in full, so the migration
# does not change when that module does.


class PostgresOnlyDDL(MigrateOperation):
    def __init__(self, statements: Sequence[str]) -> None:
        self.statements = tuple(statements)


@renderers.dispatch_for(PostgresOnlyDDL)
def _render_postgres_only(_context: AutogenContext, op: PostgresOnlyDDL) -> str:
    lines = ['if op.get_bind().dialect.name == "postgresql":']
    lines += [f"    op.execute({statement!r})" for statement in op.statements]
    return "\n".join(lines)


def add_postgres_only_ddl(context: Any, revision: Any, directives: list[Any]) -> None:
    """process_revision_directives hook: append the PostgreSQL-only DDL to a new migration."""
    from market.tasks import text_search

    if not directives or not getattr(context.config.cmd_opts, "autogenerate", True):
        return
    script = directives[0]
    if not script.upgrade_ops.ops:
        return  # nothing changed in the models: no new revision content to add to
    script.upgrade_ops.ops.append(PostgresOnlyDDL(text_search.STATEMENTS))
    script.downgrade_ops.ops.insert(0, PostgresOnlyDDL(text_search.DROP_STATEMENTS))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, _other: Any) -> bool:
    """For comparing the models with a database: skip the PostgreSQL-only text index."""
    from market.tasks import text_search

    return not (type_ == "index" and reflected and name == text_search.INDEX_NAME)
