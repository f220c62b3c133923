"""Demo step: listings from the demo batch, distribution authorizations, hospital orders,
shipments (some partial), receipts (one rejection), one return. Runs once per database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import ProcurementBatch
from core.accounts import actor_for_user
from core.organizations import Organization, User
from ledger.models import Listing, Order, OrderLine, PurchaseCategory, ReturnLine
from ledger.services import listings, ordering, purchases


def run_ordering(
    session: Session,
    *,
    batch: ProcurementBatch,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    """Order, ship and confirm a month of demo purchases (skipped when orders already exist)."""
    if session.scalar(select(func.count()).select_from(Order)):
        echo("订单已存在 (orders exist): 跳过下单演示")
        return
    bureau = actor_for_user(users["bureau-op"])
    listings.create_vbp_listings(session, bureau, batch.id, now=now - timedelta(days=40))
    for maker in ("mfr1", "mfr2", "mfr3", "mfr4"):
        for dist, region in (("dist1", "510000"), ("dist2", "510600")):
            listings.authorize_distributor(
                session,
                actor_for_user(users[f"{maker}-op"]),
                distributor_id=orgs[dist].id,
                product_id=None,
                region_code=region,
                now=now - timedelta(days=40),
            )
    distributor = actor_for_user(users["dist1-op"])
    shipped = received = 0
    for n, key in enumerate(k for k in orgs if k.startswith("hosp")):
        hospital = orgs[key]
        hospital_actor = actor_for_user(users[f"{key}-op"])
        region = hospital.region_code[:4] + "00"
        visible = session.scalars(
            select(Listing).where(Listing.region_code == region, Listing.supply_role == "primary")
        ).all()
        if not visible:
            continue
        placed = now - timedelta(days=30 - n)
        order = ordering.place_orders(
            session,
            hospital_actor,
            distributor_id=orgs["dist1"].id,
            urgency=ordering.Urgency.NORMAL,
            now=placed,
            lines=[ordering.LineRequest(listing.id, 50 + 10 * i) for i, listing in enumerate(visible)],
        )
        ordering.decide_order(
            session, distributor, order.id, accept=True, reason=None, now=placed + timedelta(hours=2)
        )
        # The first hospital's order ships in two parts; the others ship in full.
        first = [
            ordering.ShipRequest(
                line.id,
                line.quantity if n else line.quantity // 2,
                f"B{line.id:06d}",
                date(now.year + 2, 6, 30),
            )
            for line in order.lines
        ]
        shipment = ordering.ship(
            session, distributor, order.id, lines=first, now=placed + timedelta(hours=10)
        )
        shipped += len(shipment.lines)
        for i, ship_line in enumerate(shipment.lines):
            rejected = 5 if (n, i) == (1, 0) else 0  # one damaged delivery
            receipt = ordering.confirm_receipt(
                session,
                hospital_actor,
                ship_line.id,
                accepted=ship_line.quantity - rejected,
                rejected=rejected,
                reason_code="damaged" if rejected else None,
                now=placed + timedelta(days=1),
            )
            received += 1
            if (n, i) == (2, 0):  # one return after acceptance
                ordering.record_return(
                    session,
                    hospital_actor,
                    receipt.id,
                    quantity=3,
                    reason="近效期退货",
                    now=placed + timedelta(days=3),
                )
        month = (now.replace(day=1) - timedelta(days=1)).replace(day=1).date()
        purchases.report_off_platform(
            session,
            hospital_actor,
            month=month,
            category=PurchaseCategory.DRUGS,
            amount_fen=(n + 1) * 35_000_00,
            now=now,
        )
    orders = session.scalar(select(func.count()).select_from(Order))
    echo(
        f"订单与配送 (orders and deliveries): {orders} 张订单, "
        f"{shipped} 条发货, {received} 条验收（含1条拒收、1条退货、1张分批发货订单）"
    )


def run_invoicing(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    """The distributor invoices its accepted deliveries; hospitals confirm (one line disputed)."""
    from decimal import Decimal

    from ledger.journal import verify_journal
    from ledger.models import Invoice, ReceiptLine
    from ledger.services import invoicing

    if session.scalar(select(func.count()).select_from(Invoice)):
        echo("发票已存在 (invoices exist): 跳过开票演示")
        return
    distributor = actor_for_user(users["dist1-op"])
    receipts = session.scalars(
        select(ReceiptLine)
        .where(ReceiptLine.distributor_id == orgs["dist1"].id, ReceiptLine.accepted_quantity > 0)
        .order_by(ReceiptLine.hospital_id, ReceiptLine.id)
    ).all()
    by_hospital: dict[int, list[ReceiptLine]] = {}
    for receipt in receipts:
        by_hospital.setdefault(receipt.hospital_id, []).append(receipt)
    confirmed = disputed = 0
    for n, (hospital_id, lines) in enumerate(sorted(by_hospital.items())):
        requests = []
        for receipt in lines:
            returned = session.scalar(
                select(func.coalesce(func.sum(ReturnLine.quantity), 0)).where(
                    ReturnLine.receipt_line_id == receipt.id
                )
            )
            qty = receipt.accepted_quantity - int(returned or 0)
            price = session.get_one(OrderLine, receipt.order_line_id).pack_price_fen
            requests.append(invoicing.InvoiceLineRequest(receipt.id, qty, qty * price))
        invoice = invoicing.record_invoice(
            session,
            distributor,
            hospital_id=hospital_id,
            invoice_code="051002600111",
            invoice_number=f"{26000001 + n:08d}",
            issued_on=(now - timedelta(days=20)).date(),
            tax_rate=Decimal("0.13"),
            lines=requests,
            now=now - timedelta(days=20),
        )
        hospital_key = next(k for k, o in orgs.items() if o.id == hospital_id)
        hospital = actor_for_user(users[f"{hospital_key}-op"])
        for i, line in enumerate(invoice.lines):
            dispute = (n, i) == (0, 0)
            invoicing.decide_invoice_line(
                session,
                hospital,
                line.id,
                confirm=not dispute,
                reason="数量与入库记录不符" if dispute else None,
                now=now - timedelta(days=18),
            )
            confirmed, disputed = confirmed + (not dispute), disputed + dispute
    report = verify_journal(session)
    echo(
        f"发票 (invoices): {len(by_hospital)} 张, 确认 {confirmed} 行, 异议 {disputed} 行; "
        f"账簿 {report.entries} 笔分录, 余额合计 {report.total_fen} 分, {'平衡' if report.ok else '不平衡'}"
    )
