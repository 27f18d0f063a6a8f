"""The marketplace app with one extra, bench-only route: ``POST /bench/bare``.

It is the baseline for bid placement: the same server set-up, app, middleware, database,
engine and session factory, and the same JSON decoding (the body is decoded and validated
into the very ``BidInput`` a bid uses), in the same ``sync_to_thread`` handler style; but
no authentication and no domain logic: it inserts one row into a bench-only table and
answers 201. Serve it with ``uvicorn bench.bare_app:create_app --factory``.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, post
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    func,
    insert,
)
from sqlalchemy.exc import DBAPIError

from market.app import create_app as create_market_app
from market.bids.schemas import BidInput
from market.db.engine import make_session_factory
from market.settings import Settings

# Its own metadata: the table is not part of the marketplace schema or its migrations.
bench_metadata = MetaData()
bare_rows = Table(
    "bench_bare_rows",
    bench_metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("price_minor", BigInteger, nullable=False),
    Column("milestones", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def ensure_bare_table(engine: Engine) -> None:
    try:
        bench_metadata.create_all(engine, checkfirst=True)
    except DBAPIError:
        # Another worker created it at the same moment.
        bench_metadata.create_all(engine, checkfirst=True)


def create_app(settings: Settings | None = None) -> Litestar:
    app = create_market_app(settings)
    engine: Engine = app.state["engine"]
    ensure_bare_table(engine)
    sessions = make_session_factory(engine)

    @post("/bench/bare", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=["bench"])
    def bare_insert(data: BidInput) -> dict[str, Any]:
        """Insert one row; nothing else."""
        with sessions() as s:
            row_id = s.execute(
                insert(bare_rows)
                .values(price_minor=data.price_minor, milestones=len(data.milestones))
                .returning(bare_rows.c.id)
            ).scalar_one()
            s.commit()
        return {"id": row_id}

    app.register(bare_insert)
    return app
