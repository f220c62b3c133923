"""OCDS 1.1 releases of a batch, one per stage, their packages and the compiled record.

One contracting process per procurement batch (ocid = prefix + "vbp-" + batch id). Stages:
planning (demand totals per item), tender (items with ceiling prices, rules, periods), award
(winners at their prices, with the bids extension's `bids.statistics`), contract (the procurement
agreements as framework agreements without reopened competition, hospital orders as call-offs;
contracts.py) and implementation (payments as monthly transactions per hospital × enterprise,
under the agreement the paid order belongs to). Only batches
whose results are public are ever described (ledger.disclosure.public_batch).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import (
    Award,
    BatchItem,
    BidResult,
    DemandReport,
    ItemResult,
    MemberDemand,
    ProcurementBatch,
)
from core.money import e4_to_decimal, to_fen
from core.organizations import Organization
from ledger.disclosure import public_batch
from ledger.models import OrderLine, Payment, SettlementLine, SettlementLineStatus
from reports.ocds.contracts import AgreementFinder, FrameworkAgreement, award_volumes, framework_agreements
from reports.ocds.values import unit_value, value, when

STAGES = ("planning", "tender", "award", "contract", "implementation")
EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_techniques_extension/master/extension.json",
]


@dataclass(frozen=True)
class Publisher:
    """Who publishes: the ocid prefix (a placeholder until the province registers its own), the
    base address packages are served under, and the publisher's name."""

    prefix: str
    base_uri: str
    name: str = "省医疗保障局 集中带量采购平台 (provincial healthcare security bureau, VBP platform)"


def ocid(publisher: Publisher, batch_id: int) -> str:
    return f"{publisher.prefix}vbp-{batch_id}"


class _Parties:
    """The release's parties, by USCC (what people know), roles merged."""

    def __init__(self, session: Session) -> None:
        self.session, self.found = session, {}  # type: ignore[var-annotated]

    def ref(self, org_id: int, *roles: str) -> dict[str, str]:
        org = self.session.get_one(Organization, org_id)
        party = self.found.setdefault(org.uscc, {"id": org.uscc, "name": org.name, "roles": []})
        party["roles"] += [r for r in roles if r not in party["roles"]]
        return {"id": org.uscc, "name": org.name}

    def all(self) -> list[dict[str, Any]]:
        return list(self.found.values())


def _item(item: BatchItem, **extra: Any) -> dict[str, Any]:
    spec = f"{item.rep_strength_value}{item.rep_strength_unit}"
    return {
        "id": f"item-{item.id}",
        "description": f"{item.generic_name}（{spec}）",
        "relatedLot": f"lot-{item.id}",
        **extra,
    }


def _base(publisher: Publisher, batch: ProcurementBatch, stage: str, at: datetime | date) -> dict[str, Any]:
    return {
        "ocid": ocid(publisher, batch.id),
        "id": f"{ocid(publisher, batch.id)}-{stage}",
        "date": when(at),
        "tag": [stage],
        "initiationType": "tender",
        "language": "zh",
    }


def _planning(
    session: Session, batch: ProcurementBatch, items: list[BatchItem], parties: _Parties
) -> dict[str, Any]:
    totals: dict[int, int] = defaultdict(int)
    for model in (DemandReport, MemberDemand):
        for item_id, quantity in session.execute(
            select(model.item_id, func.sum(model.quantity))
            .where(model.batch_id == batch.id)
            .group_by(model.item_id)
        ):
            totals[item_id] += int(quantity or 0)
    return {
        "planning": {
            "rationale": "医疗机构报送的年度需求量合计 (annual demand reported by hospitals, summed)"
        },
        "tender": {
            "id": f"tender-{batch.id}",
            "title": batch.name,
            "status": "planned",
            "items": [
                _item(i, quantity=totals[i.id], unit={"name": "最小制剂单位 (minimum unit)"}) for i in items
            ],
        },
    }


def _tender(
    session: Session, batch: ProcurementBatch, items: list[BatchItem], parties: _Parties
) -> dict[str, Any]:
    bidders = session.scalar(
        select(func.count(func.distinct(BidResult.manufacturer_id))).where(
            BidResult.item_id.in_([i.id for i in items] or [0])
        )
    )
    return {
        "tender": {
            "id": f"tender-{batch.id}",
            "title": batch.name,
            "status": "complete",
            "procurementMethod": "open",
            "procurementMethodDetails": f"集中带量采购，规则 {batch.rule_version} (volume-based procurement)",
            "mainProcurementCategory": "goods",
            "awardCriteria": "priceOnly",
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": {"startDate": when(batch.bid_opens_at), "endDate": when(batch.bid_closes_at)},
            "awardPeriod": {"startDate": when(batch.opening_at)},
            "contractPeriod": {"startDate": when(batch.cycle_start_on), "endDate": when(batch.cycle_end_on)},
            "numberOfTenderers": int(bidders or 0),
            "lots": [{"id": f"lot-{i.id}", "title": i.generic_name} for i in items],
            "items": [
                _item(i, unit={"name": "最小制剂单位 (minimum unit)", "value": unit_value(i.ceiling_e4)})
                for i in items
            ],
            "techniques": {
                "hasFrameworkAgreement": True,
                "frameworkAgreement": {"method": "withoutReopeningCompetition"},
            },
        },
    }


def _award(
    session: Session, batch: ProcurementBatch, items: list[BatchItem], parties: _Parties
) -> dict[str, Any]:
    awards = []
    volumes = award_volumes(session, batch)
    for award in session.scalars(
        select(Award).where(Award.batch_id == batch.id).order_by(Award.item_id, Award.rank)
    ):
        units = volumes.get(award.id, 0)
        awards.append(
            {
                "id": f"award-{award.id}",
                "title": f"{award.product.generic_name} 第{award.rank}名 (rank {award.rank})",
                "status": "active",
                "date": when(batch.published_at or batch.opening_at),
                "value": value(to_fen(e4_to_decimal(award.unit_price_e4) * units)),
                "suppliers": [parties.ref(award.manufacturer_id, "supplier", "tenderer")],
                "relatedLots": [f"lot-{award.item_id}"],
                "items": [
                    {
                        "id": f"award-{award.id}-item",
                        "description": f"{award.product.generic_name} {award.product.spec_text}",
                        "quantity": units,
                        "unit": {"name": award.product.min_unit, "value": unit_value(award.unit_price_e4)},
                    }
                ],
                "contractPeriod": {
                    "startDate": when(batch.cycle_start_on),
                    "endDate": when(batch.cycle_end_on),
                },
            }
        )
    statistics = []
    counts = session.execute(
        select(
            BidResult.item_id,
            func.count(BidResult.id),
            func.count(BidResult.id).filter(BidResult.valid.is_(True)),
        )
        .where(BidResult.item_id.in_([i.id for i in items] or [0]))
        .group_by(BidResult.item_id)
    ).all()
    lowest = dict(
        session.execute(
            select(ItemResult.item_id, ItemResult.lowest_e4).where(ItemResult.batch_id == batch.id)
        ).all()
    )
    for item_id, bids, valid in counts:
        statistics += [
            {"id": f"{item_id}-bids", "measure": "bids", "value": int(bids), "relatedLot": f"lot-{item_id}"},
            {
                "id": f"{item_id}-valid",
                "measure": "validBids",
                "value": int(valid),
                "relatedLot": f"lot-{item_id}",
            },
        ]
        if (low := lowest.get(item_id)) is not None:
            statistics.append(
                {
                    "id": f"{item_id}-lowest",
                    "measure": "lowestValidBidValue",
                    "value": unit_value(low)["amount"],
                    "currency": "CNY",
                    "notes": "最低有效申报单位可比价 (lowest valid comparable unit price)",
                    "relatedLot": f"lot-{item_id}",
                }
            )
    return {
        "awards": awards,
        "bids": {"statistics": statistics},
    }


def _framework(deal: FrameworkAgreement, parties: _Parties, batch: ProcurementBatch) -> dict[str, Any]:
    """An agreement as an OCDS contract. OCDS 1.1 links a contract to ONE award (`awardID`): the
    award of its first line; every item names the award its line comes from."""
    parties.ref(deal.manufacturer_id, "supplier")
    if deal.hospital_id is not None:
        parties.ref(deal.hospital_id, "buyer")
    awards = [f"award-{a}" for a in deal.award_ids]
    contract = {
        "id": deal.id,
        "awardID": awards[0],
        "title": f"带量采购购销协议 {deal.id} (framework agreement)",
        "description": f"中选结果 (awards): {', '.join(awards)}",
        "status": deal.status,
        "period": {"startDate": when(deal.start_on), "endDate": when(deal.end_on)},
        "value": value(deal.amount_fen),
        "items": [
            {
                "id": f"{deal.id}-award-{line.award_id}",
                "description": f"{line.product.generic_name} {line.product.spec_text} "
                f"(award-{line.award_id})",
                "quantity": line.quantity,
                "unit": {"name": line.product.min_unit, "value": unit_value(line.unit_price_e4)},
            }
            for line in deal.lines
        ],
    }
    if deal.signed_at is not None:
        contract["dateSigned"] = when(deal.signed_at)
    return contract


def _contract(
    session: Session, batch: ProcurementBatch, items: list[BatchItem], parties: _Parties
) -> dict[str, Any]:
    contracts = []
    for deal in framework_agreements(session, batch):
        contracts.append(_framework(deal, parties, batch))
        for call in deal.call_offs:
            hospital = parties.ref(call.hospital_id, "buyer")
            contracts.append(
                {
                    "id": f"calloff-{call.order_id}-{call.award_id}",
                    "awardID": f"award-{call.award_id}",
                    "title": f"医疗机构订单 (call-off) {hospital['name']}",
                    "status": deal.status,
                    "dateSigned": when(call.ordered_on),
                    "value": value(call.amount_fen),
                    "items": [
                        {
                            "id": f"calloff-{call.order_id}-{call.award_id}-item",
                            "quantity": call.packs,
                            "unit": {"name": "包装 (pack)", "value": value(call.pack_price_fen)},
                        }
                    ],
                    "description": f"框架协议 {deal.id} 下的采购订单 "
                    f"(call-off under framework agreement {deal.id})",
                }
            )
    return {"contracts": contracts}


def _implementation(
    session: Session, batch: ProcurementBatch, items: list[BatchItem], parties: _Parties
) -> dict[str, Any]:
    """Payments of settlement lines of the batch's order lines, summed per agreement (the one the
    paid order line belongs to, as its call-off does), month, hospital and enterprise paid
    (confirmed settlement lines only: what the payment actually paid)."""
    deals = framework_agreements(session, batch)
    finder = AgreementFinder(deals)
    sums: dict[tuple[str, str, int, int], list[Any]] = {}
    for award_id, ordered_on, paid_on, hospital_id, enterprise_id, amount in session.execute(
        select(
            Award.id,  # = the line's award (the join), never NULL
            OrderLine.ordered_on,
            Payment.paid_on,
            Payment.hospital_id,
            Payment.enterprise_id,
            SettlementLine.amount_fen,
        )
        .join(SettlementLine, SettlementLine.application_id == Payment.application_id)
        .join(OrderLine, OrderLine.id == SettlementLine.order_line_id)
        .join(Award, Award.id == OrderLine.award_id)
        .where(Award.batch_id == batch.id, SettlementLine.status == SettlementLineStatus.CONFIRMED)
        .order_by(Payment.paid_on, SettlementLine.id)
    ):
        deal = finder.find(hospital_id, award_id, ordered_on)
        if deal is None:
            continue  # no agreement of this hospital for the award (contracts.py)
        key = (deal.id, f"{paid_on:%Y-%m}", hospital_id, enterprise_id)
        total = sums.setdefault(key, [paid_on, 0])
        total[0], total[1] = max(total[0], paid_on), total[1] + amount
    by_deal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (deal_id, ym, hospital_id, enterprise_id), (last_paid, amount) in sorted(sums.items()):
        payer, payee = parties.ref(hospital_id, "payer", "buyer"), parties.ref(enterprise_id, "payee")
        by_deal[deal_id].append(
            {
                "id": f"{deal_id}-{ym}-{payer['id']}-{payee['id']}",
                "source": "医保基金直接结算 (direct settlement)",
                "date": when(last_paid),
                "value": value(int(amount)),
                "payer": payer,
                "payee": payee,
            }
        )
    contracts = []
    for deal in deals:
        contract = _framework(deal, parties, batch)
        contract["implementation"] = {"transactions": by_deal.get(deal.id, [])}
        contracts.append(contract)
    return {"contracts": contracts}


_SECTIONS = {
    "planning": _planning,
    "tender": _tender,
    "award": _award,
    "contract": _contract,
    "implementation": _implementation,
}


def _stage_date(batch: ProcurementBatch, stage: str) -> datetime | date:
    return {
        "planning": batch.demand_closes_at,
        "tender": batch.bid_opens_at,
        "award": batch.published_at or batch.opening_at,
        "contract": batch.published_at or batch.opening_at,
        "implementation": batch.published_at or batch.opening_at,
    }[stage]


def release(session: Session, batch: ProcurementBatch, stage: str, publisher: Publisher) -> dict[str, Any]:
    """One stage's release of a public batch."""
    items = list(
        session.scalars(select(BatchItem).where(BatchItem.batch_id == batch.id).order_by(BatchItem.id))
    )
    parties = _Parties(session)
    buyer = parties.ref(batch.created_by_org_id, "buyer", "procuringEntity")  # the bureau
    body = _SECTIONS[stage](session, batch, items, parties)
    head = _base(publisher, batch, stage, _stage_date(batch, stage))
    return {**head, "parties": parties.all(), "buyer": buyer, **body}


def package_head(uri: str, publisher: Publisher, published: datetime) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "publishedDate": when(published),
        "publisher": {"name": publisher.name},
        "extensions": EXTENSIONS,
    }


def release_package(
    session: Session, batch_id: int, stage: str, *, publisher: Publisher, published: datetime
) -> dict[str, Any] | None:
    """The release package of one stage of a batch; None if the batch is not public."""
    batch = public_batch(session, batch_id)
    if batch is None or stage not in STAGES:
        return None
    uri = f"{publisher.base_uri}/batches/{batch.id}/{stage}"
    return {
        **package_head(uri, publisher, published),
        "releases": [release(session, batch, stage, publisher)],
    }
