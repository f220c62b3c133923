"""Demo step (issue 19 item 3): the first invoices (manufacturer → distributor) of the demo's
deliveries, linked to the second invoices' lines, one invoice image, and one batch that went
manufacturer → 巴蜀医药物流 → 蓉城医药配送 → hospital: three invoices, a two-invoice finding.
Safe to run twice (skipped when upstream invoices exist)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Product
from core import clock
from core.organizations import Organization, User, actor_for_user
from ledger.models import OrderLine, ReceiptLine, ShipmentLine
from ledger.models.upstream import UpstreamInvoice
from ledger.services import invoice_images, upstream_invoices
from ledger.services.upstream_invoices import UpstreamLineRequest

#: A minimal one-page PDF standing in for a scanned invoice.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def run_first_invoices(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    if session.scalar(select(func.count()).select_from(UpstreamInvoice)):
        echo("上游发票已存在 (first invoices exist): 跳过")
        return
    dist1, dist2 = actor_for_user(users["dist1-op"]), actor_for_user(users["dist2-op"])
    batches = session.execute(
        select(OrderLine.product_id, ShipmentLine.batch_no, func.sum(ReceiptLine.accepted_quantity))
        .join(ShipmentLine, ShipmentLine.id == ReceiptLine.shipment_line_id)
        .join(OrderLine, OrderLine.id == ReceiptLine.order_line_id)
        .where(ReceiptLine.distributor_id == orgs["dist1"].id, ReceiptLine.accepted_quantity > 0)
        .group_by(OrderLine.product_id, ShipmentLine.batch_no)
        .order_by(OrderLine.product_id, ShipmentLine.batch_no)
    ).all()
    if not batches:
        echo("无已验收配送 (no accepted deliveries): 跳过第一票")
        return
    issued = clock.business_date(now) - timedelta(days=1)
    at = clock.local(issued, time(9))
    numbers = iter(range(88_000_001, 89_000_000))
    recorded = []
    *direct, via_dist2 = batches
    for product_id, batch_no, packs in direct:
        mah = session.get_one(Product, product_id).mah_id
        recorded.append(
            upstream_invoices.record_upstream_invoice(
                session,
                dist1,
                seller_id=mah,
                invoice_code="",
                invoice_number=f"{next(numbers)}",
                issued_on=issued,
                tax_rate=Decimal("0.13"),
                lines=[UpstreamLineRequest(product_id, batch_no, int(packs), int(packs) * 80)],
                now=at,
            )
        )
    product_id, batch_no, packs = via_dist2
    mah = session.get_one(Product, product_id).mah_id
    for buyer, seller in ((dist2, mah), (dist1, orgs["dist2"].id)):
        upstream_invoices.record_upstream_invoice(
            session,
            buyer,
            seller_id=seller,
            invoice_code="",
            invoice_number=f"{next(numbers)}",
            issued_on=issued,
            tax_rate=Decimal("0.13"),
            lines=[UpstreamLineRequest(product_id, batch_no, int(packs), int(packs) * 90)],
            now=at,
        )
    if recorded:
        invoice_images.attach_image(
            session, dist1, data=DEMO_PDF, filename="第一票.pdf", upstream_invoice_id=recorded[0].id, now=at
        )
    echo(
        f"第一票 {len(recorded)} 张，已关联第二票明细；批号 {batch_no} 经三张发票"
        " (first invoices linked; one three-hop chain: a two-invoice finding)"
    )
