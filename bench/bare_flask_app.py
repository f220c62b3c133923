"""The intake benchmark's second baseline: the same order inserts behind a bare Flask route.

    gunicorn 'bench.bare_flask_app:create_app()'      # DATABASE_URL names the database

One route, POST /orders, takes the same JSON body as POST /api/v1/orders and writes the same
order and line rows in one transaction with SQLAlchemy Core on the same driver, exactly as the
direct baseline does (`insert_order`), with no authentication, validation, scoping, audit or
idempotency. API intake ÷ this figure is what our own checks cost; this figure ÷ direct inserts
is what HTTP, gunicorn and Flask cost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, request
from sqlalchemy import Connection, insert, select, text

import ledger.models  # noqa: F401  # the order tables on Base.metadata
from app.db import Database
from core.db import Base


def insert_order(
    conn: Connection,
    hospital_id: int,
    body: Mapping[str, Any],
    prices: Mapping[int, tuple[int, int, int]],
    now: datetime,
) -> int:
    """The rows of one order as the API writes them, with no checks: both baselines call this."""
    orders, lines = Base.metadata.tables["orders"], Base.metadata.tables["order_lines"]
    order_id = conn.execute(
        insert(orders).returning(orders.c.id),
        {
            "hospital_id": hospital_id,
            "distributor_id": body["distributor_id"],
            "region_code": "510104",
            "status": "submitted",
            "urgency": "normal",
            "deadline_at": now + timedelta(hours=24),
            "submitted_at": now,
        },
    ).scalar_one()
    conn.execute(
        insert(lines),
        [
            {
                "order_id": order_id,
                "hospital_id": hospital_id,
                "manufacturer_id": prices[x["listing_id"]][1],
                "distributor_id": body["distributor_id"],
                "region_code": "510104",
                "listing_id": x["listing_id"],
                "product_id": prices[x["listing_id"]][2],
                "mode": "price_linked",
                "quantity": x["quantity"],
                "pack_price_fen": prices[x["listing_id"]][0],
                "amount_fen": x["quantity"] * prices[x["listing_id"]][0],
                "shipped_quantity": 0,
                "accepted_quantity": 0,
                "rejected_quantity": 0,
                "returned_quantity": 0,
                "cancelled_quantity": 0,
                "status": "open",
                "ordered_on": now.date(),
            }
            for x in body["lines"]
        ],
    )
    return int(order_id)


def price_table(conn: Connection) -> dict[int, tuple[int, int, int]]:
    """Listing id → (pack price, manufacturer, product): what the baselines freeze into lines."""
    listings = Base.metadata.tables["listings"]
    rows = conn.execute(
        select(listings.c.id, listings.c.pack_price_fen, listings.c.manufacturer_id, listings.c.product_id)
    )
    return {lid: (price, maker, product) for lid, price, maker, product in rows}


def first_hospital(conn: Connection) -> int:
    return int(conn.scalar(text("SELECT id FROM organizations WHERE kind = 'hospital' ORDER BY id LIMIT 1")))


def create_app() -> Flask:
    """The bare app: the engine is made here (per worker) exactly as the product makes its own
    (pool, SQLite's WAL and write lock), prices and the hospital read once."""
    app = Flask(__name__)
    engine = Database(os.environ["DATABASE_URL"]).engine
    with engine.connect() as conn:
        prices, hospital_id = price_table(conn), first_hospital(conn)

    @app.post("/orders")
    def place() -> tuple[dict[str, int], int]:
        with engine.begin() as conn:
            order_id = insert_order(conn, hospital_id, request.get_json(), prices, datetime.now(UTC))
        return {"id": order_id}, 201

    @app.get("/ready")
    def ready() -> str:
        return "ok"

    return app
