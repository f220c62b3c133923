"""The printable bid receipt (投标回执): what the bidder keeps to check, after the opening, that its
bid was opened as sealed — batch, item, product, the bid's public id, its digest and salt, and
when it was submitted.

It never carries a price: before the opening a sealed price is known to no one but its bidder,
and a paper that travels (printers, scans, mail) must not be where it leaks. Neither is the
price read back to print it: the receipt is built from the bid record (which holds no price in
clear) and the salt the bidder received with its receipt.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.bids import bids_visible_to
from bidding.models import BatchItem, Bid, ProcurementBatch, Product
from core import clock, crypto_suites
from core.actors import Actor, OrgKind
from core.errors import NotFound, ValidationFailed
from core.organizations import Organization
from reports.pdf import metadata, numbered_canvas, style, table_style

MARGIN = 15 * mm
#: The sealer's salt: 16 random bytes as hex (bidding/sealing.py).
SALT = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class BidReceipt:
    manufacturer: str
    batch: str
    item: str  #: generic name and representative strength
    product: str  #: generic name and specification
    product_code: str  #: national code
    bid: str  #: the bid's public id
    digest: str
    salt: str
    submitted_at: datetime
    #: The digest's algorithm, the bid's own suite's (SHA-256 or SM3).
    digest_algorithm: str = "SHA-256"


def bid_receipt(session: Session, actor: Actor, bid_id: int, *, salt: str) -> BidReceipt:
    """The receipt of one of the manufacturer's own bids (NotFound for anyone else's)."""
    if actor.org_kind is not OrgKind.MANUFACTURER:
        raise NotFound("投标不存在 (bid not found)")
    bid = session.scalars(bids_visible_to(actor).where(Bid.id == bid_id)).first()
    if bid is None:
        raise NotFound("投标不存在 (bid not found)")
    if not SALT.fullmatch(salt):
        raise ValidationFailed(fields={"salt": ["盐值为提交时回执所示的32位十六进制 (32 hex digits)"]})
    batch = session.get_one(ProcurementBatch, bid.batch_id)
    item = session.get_one(BatchItem, bid.item_id)
    product = session.get_one(Product, bid.product_id)
    maker = session.scalar(select(Organization.name).where(Organization.id == bid.manufacturer_id))
    return BidReceipt(
        manufacturer=maker or "",
        batch=batch.name,
        item=f"{item.generic_name} {item.rep_strength_value}{item.rep_strength_unit}",
        product=f"{product.generic_name} {product.spec_text}",
        product_code=product.code,
        bid=bid.public_id,
        digest=bid.digest,
        salt=salt,
        submitted_at=bid.submitted_at,
        digest_algorithm=crypto_suites.get(bid.suite).digest_name,
    )


def render_bid_receipt(receipt: BidReceipt) -> bytes:
    """The receipt as an A4 PDF (CJK font embedded)."""
    facts = Table(
        [
            ["投标企业", receipt.manufacturer],
            ["采购批次", receipt.batch],
            ["采购品种", receipt.item],
            ["投标产品", f"{receipt.product}（{receipt.product_code}）"],
            ["投标编号", receipt.bid],
            ["提交时间", receipt.submitted_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M:%S")],
            [f"摘要 ({receipt.digest_algorithm})", receipt.digest],
            ["盐值 (salt)", receipt.salt],
        ],
        colWidths=[90, 400],
        hAlign="LEFT",
    )
    facts.setStyle(table_style(font_size=9))
    story = [
        Paragraph("投 标 回 执", style(15, alignment=1)),
        Spacer(1, 6 * mm),
        facts,
        Spacer(1, 6 * mm),
        Paragraph(
            "报价密封保存，开标前任何人不可见，本回执不载明报价。开标后，以您的报价和上述盐值"
            "可重新计算摘要，核对您的投标是否按密封内容开启。请妥善保管盐值。",
            style(9),
        ),
    ]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"投标回执 {receipt.bid}",
        author="VBP 集中带量采购平台",
    )
    on_page = metadata(f"投标回执 {receipt.bid}", receipt.batch)
    template.build(
        story,
        onFirstPage=on_page,
        onLaterPages=on_page,
        canvasmaker=numbered_canvas(f"投标回执 {receipt.bid}"),
    )
    return buffer.getvalue()
