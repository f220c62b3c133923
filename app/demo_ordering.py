"""Demo step: listings from the demo batch, distribution authorizations, hospital orders,
shipments (some partial), receipts (one rejection), one return. Runs once per database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import demo_trace
from bidding.models import ProcurementBatch
from core import clock
from core.accounts import actor_for_user
from core.organizations import Organization, User
from ledger.models import Listing, Order, OrderLine, PurchaseCategory, ReturnLine
from ledger.money_rules import PaymentTerms, SettlementCalendar
from ledger.services import authorizations, fund, listings, ordering, purchases


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
            authorizations.authorize_distributor(
                session,
                actor_for_user(users[f"{maker}-op"]),
                distributor_id=orgs[dist].id,
                product_id=None,
                region_code=region,
                now=now - timedelta(days=40),
            )
    distributor = actor_for_user(users["dist1-op"])
    shipped = received = codes = 0
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
                date(clock.business_date(now).year + 2, 6, 30),
            )
            for line in order.lines
        ]
        shipment = ordering.ship(
            session, distributor, order.id, lines=first, now=placed + timedelta(hours=10)
        )
        shipped += len(shipment.lines)
        codes += demo_trace.attach_demo_codes(
            session, distributor, shipment, now=placed + timedelta(hours=10)
        )
        for i, ship_line in enumerate(shipment.lines):
            rejected = 5 if (n, i) == (1, 0) else 0  # one damaged delivery
            scan = demo_trace.kept_scan(session, ship_line.id, ship_line.quantity - rejected)
            receipt = ordering.confirm_receipt(
                session,
                hospital_actor,
                ship_line.id,
                accepted=ship_line.quantity - rejected,
                rejected=rejected,
                reason_code="damaged" if rejected else None,
                now=placed + timedelta(days=1),
                scanned_codes=scan,
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
                    trace_codes=scan[:3],
                )
        month = clock.previous_month(clock.business_date(now))
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
        f"{shipped} 条发货, {received} 条验收（含1条拒收、1条退货、1张分批发货订单）, "
        f"{codes} 个追溯码随货并于验收时核对 (traceability codes attached and matched)"
    )


def run_invoicing(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
    terms: PaymentTerms,
) -> None:
    """Last month's money flow: the distributor invoices its accepted deliveries (a red-letter
    invoice credits the return), hospitals confirm (one line disputed), the distributor files its
    settlement applications, hospitals confirm them, the agency approves the run and pays — one
    hospital's payment drawn from its prepayment — and the journal balances."""
    from decimal import Decimal

    from core.errors import RuleViolation
    from core.money import fen_to_str
    from ledger.journal import verify_journal
    from ledger.models import Invoice, InvoiceKind, PaymentSource, ReceiptLine
    from ledger.services import invoicing, settlement, settlement_payments

    if session.scalar(select(func.count()).select_from(Invoice)):
        echo("发票已存在 (invoices exist): 跳过开票与结算演示")
        return
    distributor, agency = actor_for_user(users["dist1-op"]), actor_for_user(users["bureau-op"])
    hospital_actor = {o.id: actor_for_user(users[f"{k}-op"]) for k, o in orgs.items() if k.startswith("hosp")}
    period = clock.previous_month(clock.business_date(now))
    issued = clock.month_start(clock.business_date(now)) - timedelta(days=1)  # last day of last month
    issued_at = clock.local(issued, time(10))  # 10:00 that day in the province
    receipts = session.scalars(
        select(ReceiptLine)
        .where(ReceiptLine.distributor_id == orgs["dist1"].id, ReceiptLine.accepted_quantity > 0)
        .order_by(ReceiptLine.hospital_id, ReceiptLine.id)
    ).all()
    by_hospital: dict[int, list[ReceiptLine]] = {}
    for receipt in receipts:
        by_hospital.setdefault(receipt.hospital_id, []).append(receipt)
    confirmed = disputed = credited = 0
    for n, (hospital_id, lines) in enumerate(sorted(by_hospital.items())):
        prices = {r.id: session.get_one(OrderLine, r.order_line_id).pack_price_fen for r in lines}
        open_qty = {
            r.id: r.accepted_quantity
            - int(
                session.scalar(
                    select(func.coalesce(func.sum(ReturnLine.quantity), 0)).where(
                        ReturnLine.receipt_line_id == r.id
                    )
                )
                or 0
            )
            for r in lines
        }
        invoice = invoicing.record_invoice(
            session,
            distributor,
            hospital_id=hospital_id,
            invoice_code="051002600111",
            invoice_number=f"{26000001 + n:08d}",
            issued_on=issued,
            tax_rate=Decimal("0.13"),
            now=issued_at,
            terms=terms,
            lines=[
                invoicing.InvoiceLineRequest(r.id, open_qty[r.id], open_qty[r.id] * prices[r.id])
                for r in lines
            ],
        )
        invoice_lines = list(invoice.lines)
        if n == 3:  # goods returned after invoicing are credited by a red-letter invoice (§5)
            receipt, line = lines[0], invoice.lines[0]
            ordering.record_return(
                session,
                hospital_actor[hospital_id],
                receipt.id,
                quantity=2,
                reason="包装破损退货",
                now=issued_at + timedelta(hours=2),
                trace_codes=demo_trace.kept_scan(session, receipt.shipment_line_id, 2),
            )
            red = invoicing.record_invoice(
                session,
                distributor,
                hospital_id=hospital_id,
                invoice_code="051002600111",
                invoice_number=f"{27000001 + credited:08d}",
                issued_on=issued,
                tax_rate=Decimal("0.13"),
                now=issued_at + timedelta(hours=3),
                terms=terms,
                kind=InvoiceKind.RED,
                original_invoice_id=invoice.id,
                lines=[invoicing.InvoiceLineRequest(receipt.id, -2, -2 * prices[receipt.id], line.id)],
            )
            invoice_lines += red.lines
            credited += 1
        for i, line in enumerate(invoice_lines):
            dispute = (n, i) == (0, 0)
            invoicing.decide_invoice_line(
                session,
                hospital_actor[hospital_id],
                line.id,
                confirm=not dispute,
                reason="数量与入库记录不符" if dispute else None,
                now=issued_at + timedelta(hours=6),
            )
            confirmed, disputed = confirmed + (not dispute), disputed + dispute
    # Direct settlement of last month: file, confirm, approve, pay (one hospital from its prepayment).
    prepaid_hospital = sorted(by_hospital)[-1]
    fund.grant_prepayment(
        session, agency, hospital_id=prepaid_hospital, year=clock.business_date(now).year, now=now
    )
    applications = [
        settlement.file_application(
            session,
            distributor,
            hospital_id=h,
            period_month=period,
            now=now,
            calendar=SettlementCalendar.from_terms(terms),
        )
        for h in sorted(by_hospital)
    ]
    for application in applications:
        settlement.confirm_application(
            session, hospital_actor[application.hospital_id], application.id, disputes={}, now=now
        )
    run = settlement.approve_run(session, agency, period_month=period, now=now)
    for application in applications:
        source = (
            PaymentSource.PREPAYMENT if application.hospital_id == prepaid_hospital else PaymentSource.FUND
        )
        try:
            settlement_payments.pay_application(
                session,
                agency,
                application.id,
                bank_reference=f"FUND-{application.id:06d}",
                paid_on=clock.business_date(now),
                now=now,
                source=source,
            )
        except RuleViolation:  # prepayment too small for this application: the fund pays
            settlement_payments.pay_application(
                session,
                agency,
                application.id,
                bank_reference=f"FUND-{application.id:06d}",
                paid_on=clock.business_date(now),
                now=now,
            )
    report = verify_journal(session)
    echo(
        f"发票 (invoices): 确认 {confirmed} 行, 异议 {disputed} 行, 红字 {credited} 张; "
        f"结算 (run {run.id}): {len(applications)} 份申请, 付款合计 {fen_to_str(run.total_fen)} 元; "
        f"账簿 {report.entries} 笔分录, 余额合计 {report.total_fen} 分, {'平衡' if report.ok else '不平衡'}"
    )
