"""A synthetic province for benchmarks and tests: hospitals by level in ~20 regions,
manufacturers, distributors, a catalogue, listings, and a year of orders with shipments,
receipts (partial, rejected), returns, invoices (red-letter for returns), settlement applications,
runs and payments with their journal entries — including a controlled share of every
discrepancy kind the reconciliation looks for.

    python -m bench.generate --database-url postgresql+psycopg://postgres@127.0.0.1/vbp_gen --scale province
    python -m bench.generate --database-url sqlite:////tmp/small.sqlite3 --scale small

Deterministic from the seed; written with bulk inserts (COPY on PostgreSQL) one month at a time,
so memory stays bounded at a million order lines. Rows are shaped like the services write them
(statuses, derived quantities, due dates); the deliberate mismatches are the exceptions.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import migrations.models  # noqa: E402, F401  (every table in the metadata)
from core.db import Base, bulk_insert  # noqa: E402
from core.uscc import make_uscc  # noqa: E402
from ledger.money_rules import PaymentTerms, due_date  # noqa: E402

Progress = Callable[[str, int, int], None]

#: Shares of order lines per discrepancy kind (the rest flow through completely).
DEFAULT_SHARES = {
    "awaiting_shipment": 0.02,  # last month: not shipped yet (overdue once past the deadline)
    "awaiting_receipt": 0.01,  # last month: shipped, not received
    "rejected": 0.01,  # part of the delivery rejected
    "partial": 0.02,  # part shipped, the rest still owed
    "awaiting_invoice": 0.02,  # received, not invoiced
    "price_mismatch": 0.002,
    "qty_mismatch": 0.002,
    "amount_mismatch": 0.002,
    "disputed": 0.003,
    "unpaid": 0.01,  # invoiced and confirmed, not settled (overdue when old)
    "overpaid": 0.002,  # returned and credited after payment
}

REGIONS = [f"51{n:02d}00" for n in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 32, 33)]
GENERICS = [
    ("阿托伐他汀钙片", "20mg×28片", 2_000),
    ("苯磺酸氨氯地平片", "5mg×28片", 1_960),
    ("注射用头孢曲松钠", "1g×10支", 12_800),
    ("盐酸二甲双胍缓释片", "0.5g×30片", 450),
    ("瑞舒伐他汀钙片", "10mg×28片", 1_520),
    ("氯吡格雷片", "75mg×7片", 1_130),
    ("恩替卡韦分散片", "0.5mg×28片", 980),
    ("蒙脱石散", "3g×10袋", 760),
]


@dataclass(frozen=True)
class Scale:
    name: str
    hospitals: int
    manufacturers: int
    distributors: int
    products: int
    order_lines: int
    months: int = 12
    lines_per_order: int = 5
    shares: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))

    @classmethod
    def custom(cls, *, order_lines: int, hospitals: int | None = None) -> Scale:
        hospitals = hospitals or max(20, min(2_000, order_lines // 500))
        return cls(
            "custom",
            hospitals,
            max(5, hospitals // 20),
            max(3, hospitals // 33),
            max(20, min(500, order_lines // 2_000)),
            order_lines,
        )


#: Small enough for a test, with shares high enough that every discrepancy kind appears.
SMALL = Scale(
    "small",
    hospitals=12,
    manufacturers=5,
    distributors=3,
    products=16,
    order_lines=600,
    months=4,
    shares={name: 0.03 for name in DEFAULT_SHARES},
)
PROVINCE = Scale(
    "province", hospitals=2_000, manufacturers=100, distributors=60, products=500, order_lines=1_000_000
)
SCALES = {"small": SMALL, "province": PROVINCE}


@dataclass
class Summary:
    rows: Counter[str] = field(default_factory=Counter)
    planted: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class _Ids:
    """Explicit ids, continuing after what the tables hold, so children reference parents
    without a round trip per row."""

    def __init__(self, session: Session) -> None:
        self.session, self.next = session, {}

    def take(self, table: str, n: int = 1) -> int:
        if table not in self.next:
            top = self.session.scalar(select(func.max(Base.metadata.tables[table].c.id))) or 0
            self.next[table] = int(top) + 1
        first = self.next[table]
        self.next[table] += n
        return first


def _month_start(start: date, k: int) -> date:
    y, m = divmod(start.month - 1 + k, 12)
    return date(start.year + y, m + 1, 1)


def stderr_progress(step: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r{step:<14} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=sys.stderr)
    if done >= total:
        print(file=sys.stderr)


def generate(
    session: Session, *, scale: Scale, seed: int, as_of: datetime, progress: Progress | None = None
) -> Summary:
    """Write the province into the session's transaction (the caller commits)."""
    started = time.perf_counter()
    rng, ids, summary = random.Random(seed), _Ids(session), Summary()
    tables = Base.metadata.tables
    now = as_of

    def insert(name: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            bulk_insert(session, tables[name], rows)
            summary.rows[name] += len(rows)

    # --- organizations, catalogue, listings ---------------------------------------------------
    orgs: list[dict[str, Any]] = []

    def org(kind: str, name: str, region: str, **extra: Any) -> int:
        oid = ids.take("organizations")
        body = f"{91 if kind != 'hospital' else 12}{region[:4]}{oid:011d}"  # 17 characters, unique by id
        orgs.append(
            {
                "id": oid,
                "kind": kind,
                "name": name,
                "uscc": make_uscc(body),
                "region_code": region,
                "hospital_level": extra.get("level"),
                "is_public": extra.get("public"),
                "active": True,
                "created_at": now - timedelta(days=400),
            }
        )
        return oid

    hospitals = [
        (
            org(
                "hospital",
                f"{REGIONS[i % len(REGIONS)][:4]}第{i + 1}医院",
                REGIONS[i % len(REGIONS)][:4] + f"{1 + i % 9:02d}",
                level=rng.choice(["tertiary", "secondary", "primary"]),
                public=rng.random() < 0.9,
            ),
            REGIONS[i % len(REGIONS)],
        )
        for i in range(scale.hospitals)
    ]
    makers = [org("manufacturer", f"制药企业{i + 1}", "510100") for i in range(scale.manufacturers)]
    distributors_by_region: dict[str, list[int]] = defaultdict(list)
    for i in range(scale.distributors):
        region = REGIONS[i % len(REGIONS)]
        distributors_by_region[region].append(org("distributor", f"配送企业{i + 1}", region))
    everywhere = [d for ds in distributors_by_region.values() for d in ds]
    insert("organizations", orgs)

    products, listings = [], []
    for i in range(scale.products):
        generic, spec, price = GENERICS[i % len(GENERICS)]
        consumable = i % 10 == 9
        pid = ids.take("products")
        maker = makers[i % len(makers)]
        products.append(
            {
                "id": pid,
                "category": "consumable" if consumable else "drug",
                "code": f"GEN{seed:03d}{pid:08d}",
                "generic_name": "冠脉药物洗脱支架" if consumable else generic,
                "dosage_form": "支架" if consumable else "片剂",
                "dosage_form_group": "other" if consumable else "oral_solid",
                "strength_value": "1",
                "strength_unit": "个" if consumable else "mg",
                "fill_volume_ml": None,
                "spec_text": "3.0×18mm" if consumable else spec,
                "min_unit": "个" if consumable else "片",
                "units_per_pack": 1 if consumable else 28,
                "mah_id": maker,
                "originator": False,
                "reference_listed": False,
                "consistency_evaluated": not consumable,
                "registration_no": "国械注准2022313" if consumable else None,
                "attributes": None,
                "active": True,
                "created_at": now - timedelta(days=400),
            }
        )
        lid = ids.take("listings")
        listings.append(
            {
                "id": lid,
                "mode": "price_linked",
                "status": "listed",
                "product_id": pid,
                "manufacturer_id": maker,
                "region_code": "510000",
                "pack_price_fen": (80_000 if consumable else price) + rng.randint(0, 40) * 10,
                "award_id": None,
                "supply_role": None,
                "hospital_id": None,
                "reason": None,
                "reference_price_fen": None,
                "price_flagged": False,
                "status_reason": None,
                "created_at": now - timedelta(days=390),
                "updated_at": now - timedelta(days=390),
            }
        )
    insert("products", products)
    insert("listings", listings)

    # --- journal accounts: the fund's cash and each party's purchases / payable / receivable /
    # sales / cash (every confirmed invoice line and every payment is posted per order line) -----
    accounts: dict[tuple[str, int], int] = {}
    account_rows = []
    for purpose, parties in (
        ("fund_cash", [0]),
        ("hospital_purchases", [h for h, _ in hospitals]),
        ("hospital_payable", [h for h, _ in hospitals]),
        ("enterprise_cash", everywhere),
        ("enterprise_receivable", everywhere),
        ("enterprise_sales", everywhere),
    ):
        for party in parties:
            key = (purpose, party)
            existing = session.scalar(
                select(tables["accounts"].c.id).where(
                    tables["accounts"].c.purpose == purpose, tables["accounts"].c.party_key == party
                )
            )
            if existing:
                accounts[key] = existing
                continue
            accounts[key] = ids.take("accounts")
            account_rows.append(
                {
                    "id": accounts[key],
                    "purpose": purpose,
                    "party_id": party or None,
                    "party_key": party,
                    "created_at": now - timedelta(days=400),
                }
            )
    insert("accounts", account_rows)

    shares, terms = scale.shares, PaymentTerms()
    first_month = _month_start(as_of.date().replace(day=1), -scale.months)
    per_month = scale.order_lines // scale.months
    last_month = scale.months - 1
    invoice_seq = ids.take("invoices", 0)

    for k in range(scale.months):
        month = _month_start(first_month, k)
        days_in_month = (_month_start(month, 1) - month).days
        recent = k == last_month
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        count = per_month if k < last_month else scale.order_lines - per_month * last_month
        # Applications per (distributor, hospital) of this month's confirmed invoice lines.
        app_lines: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
        made = 0
        while made < count:
            hospital, region = hospitals[rng.randrange(len(hospitals))]
            distributor = rng.choice(distributors_by_region.get(region) or everywhere)
            day = month + timedelta(days=rng.randrange(days_in_month))
            submitted = datetime(day.year, day.month, day.day, rng.randint(0, 9), tzinfo=UTC)
            order_id = ids.take("orders")
            n = min(scale.lines_per_order, count - made)
            rows["orders"].append(
                {
                    "id": order_id,
                    "hospital_id": hospital,
                    "distributor_id": distributor,
                    "region_code": region,
                    "status": "completed",
                    "urgency": "normal",
                    "deadline_at": submitted + timedelta(hours=24),
                    "submitted_at": submitted,
                    "decided_at": submitted + timedelta(hours=1),
                    "refusal_reason": None,
                    "note": None,
                }
            )
            shipment_id, shipped_at = None, submitted + timedelta(hours=rng.randint(2, 20))
            invoice_id, invoice_total = None, 0
            order_states = set()
            for _ in range(n):
                made += 1
                listing = listings[rng.randrange(len(listings))]
                product = products[(listing["id"] - listings[0]["id"])]
                qty, price = rng.randint(1, 60), listing["pack_price_fen"]
                fate = _fate(rng, shares, recent=recent)
                summary.planted[fate] += 1
                line_id = ids.take("order_lines")
                shipped = 0 if fate == "awaiting_shipment" else qty
                if fate == "partial":
                    qty = max(qty, 2)
                    shipped = qty // 2
                rejected = max(1, shipped // 4) if fate == "rejected" and shipped else 0
                received = fate != "awaiting_receipt" and shipped > 0
                accepted = shipped - rejected if received else 0
                kept_or_moving = shipped - (rejected if received else 0)
                returned = 1 if fate == "overpaid" and accepted > 1 else 0
                line = {
                    "id": line_id,
                    "order_id": order_id,
                    "hospital_id": hospital,
                    "manufacturer_id": product["mah_id"],
                    "distributor_id": distributor,
                    "region_code": region,
                    "listing_id": listing["id"],
                    "product_id": product["id"],
                    "mode": "price_linked",
                    "award_id": None,
                    "quantity": qty,
                    "pack_price_fen": price,
                    "amount_fen": qty * price,
                    "shipped_quantity": shipped,
                    "accepted_quantity": accepted,
                    "rejected_quantity": rejected if received else 0,
                    "returned_quantity": returned,
                    "cancelled_quantity": 0,
                    # Rejected packs remain to deliver (ledger.services.ordering._line_status).
                    "status": "open"
                    if kept_or_moving == 0
                    else "partially_shipped"
                    if kept_or_moving < qty
                    else ("completed" if received else "shipped"),
                    "ordered_on": day,
                }
                rows["order_lines"].append(line)
                order_states.add(line["status"])
                if not shipped:
                    continue
                if shipment_id is None:
                    shipment_id = ids.take("shipments")
                    rows["shipments"].append(
                        {
                            "id": shipment_id,
                            "order_id": order_id,
                            "distributor_id": distributor,
                            "hospital_id": hospital,
                            "shipped_at": shipped_at,
                            "delivery_note": f"SH{shipment_id}",
                        }
                    )
                ship_line = ids.take("shipment_lines")
                rows["shipment_lines"].append(
                    {
                        "id": ship_line,
                        "shipment_id": shipment_id,
                        "order_line_id": line_id,
                        "hospital_id": hospital,
                        "distributor_id": distributor,
                        "quantity": shipped,
                        "batch_no": f"B{month:%y%m}{rng.randint(1, 99):02d}",
                        "expiry_on": date(month.year + 2, month.month, 1),
                        "accepted_quantity": accepted,
                        "rejected_quantity": rejected if received else 0,
                        "shipped_on": shipped_at.date(),
                        "status": "in_transit"
                        if not received
                        else "accepted"
                        if not rejected
                        else ("partly_rejected" if accepted else "rejected"),
                    }
                )
                if not received:
                    continue
                accepted_on = shipped_at.date() + timedelta(days=1)
                receipt = ids.take("receipt_lines")
                rows["receipt_lines"].append(
                    {
                        "id": receipt,
                        "shipment_line_id": ship_line,
                        "order_line_id": line_id,
                        "hospital_id": hospital,
                        "manufacturer_id": product["mah_id"],
                        "distributor_id": distributor,
                        "accepted_quantity": accepted,
                        "rejected_quantity": rejected,
                        "reason_code": "damaged" if rejected else None,
                        "accepted_on": accepted_on,
                        "confirmed_at": shipped_at + timedelta(days=1),
                        "confirmed_by": None,
                        "status": "kept" if accepted else "rejected",
                    }
                )
                if fate == "awaiting_invoice" or accepted == 0:
                    continue
                if invoice_id is None:
                    invoice_id = ids.take("invoices")
                    invoice_seq += 1
                    rows["invoices"].append(
                        {
                            "id": invoice_id,
                            "issuer_id": distributor,
                            "hospital_id": hospital,
                            "invoice_code": "051002600111",
                            "invoice_number": f"{invoice_id:08d}",
                            "issued_on": accepted_on,
                            "tax_rate": "0.13",
                            "kind": "normal",
                            "original_invoice_id": None,
                            "total_fen": 0,
                            "created_at": shipped_at + timedelta(days=1),
                        }
                    )
                inv_qty = accepted + (1 if fate == "qty_mismatch" else 0)
                inv_price = price + (price // 20 or 1) if fate == "price_mismatch" else price
                amount = inv_qty * inv_price + (1 if fate == "amount_mismatch" else 0)
                invoice_total += amount
                status = "disputed" if fate == "disputed" else "confirmed"
                invoice_line = ids.take("invoice_lines")
                rows["invoice_lines"].append(
                    {
                        "id": invoice_line,
                        "invoice_id": invoice_id,
                        "receipt_line_id": receipt,
                        "order_line_id": line_id,
                        "hospital_id": hospital,
                        "enterprise_id": distributor,
                        "credited_line_id": None,
                        "quantity": inv_qty,
                        "pack_price_fen": inv_price,
                        "amount_fen": amount,
                        "status": status,
                        "dispute_reason": "数量与随货单不符" if status == "disputed" else None,
                        "decided_at": shipped_at + timedelta(days=2),
                        "due_on": due_date(accepted_on, terms),
                    }
                )
                if status == "confirmed":
                    _post_confirmation(
                        rows, ids, accounts, invoice_line, line_id, hospital, distributor, amount, accepted_on
                    )
                if status == "confirmed" and fate != "unpaid" and not recent:
                    app_lines[(distributor, hospital)].append((invoice_line, line_id, amount))
                if returned:
                    rows["return_lines"].append(
                        {
                            "id": ids.take("return_lines"),
                            "receipt_line_id": receipt,
                            "order_line_id": line_id,
                            "hospital_id": hospital,
                            "quantity": returned,
                            "reason": "近效期",
                            "returned_on": _month_start(month, 2),
                            "created_at": datetime.combine(_month_start(month, 2), datetime.min.time(), UTC),
                            "status": "credited",
                        }
                    )
                    red_invoice = ids.take("invoices")
                    rows["invoices"].append(
                        {
                            "id": red_invoice,
                            "issuer_id": distributor,
                            "hospital_id": hospital,
                            "invoice_code": "051002600111",
                            "invoice_number": f"{red_invoice:08d}",
                            "issued_on": _month_start(month, 2),
                            "tax_rate": "0.13",
                            "kind": "red",
                            "original_invoice_id": invoice_id,
                            "total_fen": -returned * price,
                            "created_at": datetime.combine(_month_start(month, 2), datetime.min.time(), UTC),
                        }
                    )
                    red_line = ids.take("invoice_lines")
                    _post_confirmation(
                        rows,
                        ids,
                        accounts,
                        red_line,
                        line_id,
                        hospital,
                        distributor,
                        -returned * price,
                        _month_start(month, 2),
                    )
                    rows["invoice_lines"].append(
                        {
                            "id": red_line,
                            "invoice_id": red_invoice,
                            "receipt_line_id": receipt,
                            "order_line_id": line_id,
                            "hospital_id": hospital,
                            "enterprise_id": distributor,
                            "credited_line_id": invoice_line,
                            "quantity": -returned,
                            "pack_price_fen": price,
                            "amount_fen": -returned * price,
                            "status": "confirmed",
                            "dispute_reason": None,
                            "decided_at": datetime.combine(_month_start(month, 2), datetime.min.time(), UTC),
                            "due_on": due_date(_month_start(month, 2), terms),
                        }
                    )
            if invoice_id is not None:
                next(r for r in reversed(rows["invoices"]) if r["id"] == invoice_id)["total_fen"] = (
                    invoice_total
                )
            if order_states - {"completed"}:
                rows["orders"][-1]["status"] = "partially_shipped" if order_states - {"open"} else "accepted"
        _settle(rows, app_lines, month, ids, accounts, rng)
        for name in (
            "orders",
            "order_lines",
            "shipments",
            "shipment_lines",
            "receipt_lines",
            "return_lines",
            "invoices",
            "invoice_lines",
            "settlement_runs",
            "settlement_applications",
            "settlement_lines",
            "journal_entries",
            "postings",
            "payments",
        ):
            insert(name, rows.get(name, []))
        if progress:
            progress("order lines", summary.rows["order_lines"], scale.order_lines)
    if session.get_bind().dialect.name == "postgresql":
        for name in ids.next:
            session.execute(
                # Table names come from the metadata, not from input.
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")  # noqa: S608
            )
    summary.seconds = time.perf_counter() - started
    return summary


def _fate(rng: random.Random, shares: Mapping[str, float], *, recent: bool) -> str:
    """Which discrepancy (if any) this order line carries; in-flight states only in the last month."""
    draw = rng.random()
    for name, share in shares.items():
        if name in ("awaiting_shipment", "awaiting_receipt", "partial") and not recent:
            continue
        if draw < share:
            return name
        draw -= share
    return "complete"


def _post_confirmation(
    rows: dict[str, list[dict[str, Any]]],
    ids: _Ids,
    accounts: Mapping[tuple[str, int], int],
    invoice_line: int,
    line_id: int,
    hospital: int,
    distributor: int,
    amount: int,
    day: date,
) -> None:
    """The journal entry of a confirmed invoice line, as ledger.services.invoicing posts it."""
    entry = ids.take("journal_entries")
    rows["journal_entries"].append(
        {
            "id": entry,
            "business_key": f"invoice_line_confirmed:{invoice_line}",
            "kind": "invoice_confirmed" if amount > 0 else "credit_confirmed",
            "description": f"发票明细 {invoice_line} 确认",
            "occurred_on": day,
            "reversal_of_id": None,
            "created_at": datetime.combine(day, datetime.min.time(), UTC),
        }
    )
    for purpose, party, sign in (
        ("hospital_purchases", hospital, 1),
        ("hospital_payable", hospital, -1),
        ("enterprise_receivable", distributor, 1),
        ("enterprise_sales", distributor, -1),
    ):
        rows["postings"].append(
            {
                "id": ids.take("postings"),
                "entry_id": entry,
                "account_id": accounts[(purpose, party)],
                "amount_fen": sign * amount,
                "order_line_id": line_id,
                "occurred_on": day,
            }
        )


def _settle(
    rows: dict[str, list[dict[str, Any]]],
    app_lines: Mapping[tuple[int, int], list[tuple[int, int, int]]],
    month: date,
    ids: _Ids,
    accounts: Mapping[tuple[str, int], int],
    rng: random.Random,
) -> None:
    """The month's settlement: one application per distributor × hospital, filed on the 3rd
    of the next month, confirmed, approved in one run and paid, each payment journaled."""
    if not app_lines:
        return
    filed = datetime.combine(_month_start(month, 1), datetime.min.time(), UTC) + timedelta(days=2, hours=2)
    run_id = ids.take("settlement_runs")
    total = 0
    for (distributor, hospital), lines in sorted(app_lines.items()):
        amount = sum(a for _, _, a in lines)
        total += amount
        app_id = ids.take("settlement_applications")
        rows["settlement_applications"].append(
            {
                "id": app_id,
                "enterprise_id": distributor,
                "hospital_id": hospital,
                "period_month": month,
                "status": "paid",
                "net_fen": amount,
                "confirmed_fen": amount,
                "disputed_fen": 0,
                "filed_at": filed,
                "filed_late": False,
                "confirm_by": (filed + timedelta(days=7)).date(),
                "deemed_confirmed": False,
                "confirmed_at": filed + timedelta(days=2),
                "run_id": run_id,
            }
        )
        for invoice_line, line_id, line_amount in lines:
            rows["settlement_lines"].append(
                {
                    "id": ids.take("settlement_lines"),
                    "application_id": app_id,
                    "invoice_line_id": invoice_line,
                    "order_line_id": line_id,
                    "hospital_id": hospital,
                    "enterprise_id": distributor,
                    "amount_fen": line_amount,
                    "status": "confirmed",
                    "dispute_reason": None,
                }
            )
        paid_on = (filed + timedelta(days=rng.randint(10, 25))).date()
        entry = ids.take("journal_entries")
        rows["journal_entries"].append(
            {
                "id": entry,
                "business_key": f"payment:application:{app_id}",
                "kind": "payment",
                "description": f"结算申请 {app_id} 付款",
                "occurred_on": paid_on,
                "reversal_of_id": None,
                "created_at": filed + timedelta(days=10),
            }
        )
        for _, line_id, line_amount in lines:
            for purpose, party, sign in (
                ("hospital_payable", hospital, 1),
                ("fund_cash", 0, -1),
                ("enterprise_cash", distributor, 1),
                ("enterprise_receivable", distributor, -1),
            ):
                rows["postings"].append(
                    {
                        "id": ids.take("postings"),
                        "entry_id": entry,
                        "account_id": accounts[(purpose, party)],
                        "amount_fen": sign * line_amount,
                        "order_line_id": line_id,
                        "occurred_on": paid_on,
                    }
                )
        rows["payments"].append(
            {
                "id": ids.take("payments"),
                "application_id": app_id,
                "run_id": run_id,
                "enterprise_id": distributor,
                "hospital_id": hospital,
                "amount_fen": amount,
                "source": "fund",
                "bank_reference": f"FUND-{app_id:08d}",
                "paid_on": paid_on,
                "journal_entry_id": entry,
                "created_at": filed + timedelta(days=10),
            }
        )
    rows["settlement_runs"].append(
        {
            "id": run_id,
            "period_month": month,
            "status": "paid",
            "total_fen": total,
            "approved_at": filed + timedelta(days=5),
            "approved_by": None,
            "paid_at": filed + timedelta(days=10),
        }
    )


def main(argv: Iterable[str] | None = None) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from app.cli import alembic_config
    from app.config import normalize_database_url

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--order-lines", type=int, help="custom scale: this many order lines")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(list(argv) if argv is not None else None)
    url = normalize_database_url(args.database_url)
    command.upgrade(alembic_config(url), "head")
    scale = Scale.custom(order_lines=args.order_lines) if args.order_lines else SCALES[args.scale]
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        summary = generate(
            session, scale=scale, seed=args.seed, as_of=datetime.now(UTC), progress=stderr_progress
        )
    engine.dispose()
    print(f"generated {scale.name} province in {summary.seconds:.1f} s")
    for table, n in sorted(summary.rows.items()):
        print(f"  {table:<26}{n:>10,}")
    print("  planted: " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary.planted.items())))


if __name__ == "__main__":
    main()
