"""Events of the simulation: generated from the model's state, applied through the service
functions, each in its own savepoint (as `unit_of_work` does for a request).

An event is an intent (`kind` + parameters naming model records by their keys), so a recorded
sequence can be replayed — and shrunk — on a fresh market: whether an event is legal is decided
by the model at the moment it is applied, never stored with it. A legal event must succeed, an
illegal one must be refused with a domain error and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor, Role
from core.errors import DomainError
from ledger import statements
from ledger.models import InvoiceKind, PaymentSource, Statement
from ledger.services import (
    authorizations,
    fund,
    invoicing,
    ordering,
    settlement,
    settlement_payments,
)
from tests.factories import actor_of, make_user
from tests.ordering import EXPIRY, NOW, make_market
from tests.simulation import model as ref

START = NOW


class Disagreement(AssertionError):
    """The platform and the model disagree."""


@dataclass(frozen=True)
class Event:
    kind: str
    args: tuple[tuple[str, Any], ...] = ()

    def arg(self, name: str) -> Any:
        return dict(self.args)[name]

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(f'{k}={v}' for k, v in self.args)})"


def event(kind: str, **args: Any) -> Event:
    return Event(kind, tuple(sorted(args.items())))


# Table names are constants of this module, not input.
_COUNTS = ", ".join(
    f"(SELECT COUNT(*) FROM {t})"  # noqa: S608
    for t in (
        "orders",
        "order_lines",
        "shipment_lines",
        "receipt_lines",
        "return_lines",
        "invoices",
        "invoice_lines",
        "settlement_applications",
        "settlement_lines",
        "payments",
        "journal_entries",
        "postings",
        "fund_settlements",
        "fund_collections",
        "prepayments",
        "statements",
        "audit_events",
    )
)
FINGERPRINT = text(
    f"SELECT {_COUNTS}"  # noqa: S608
    ", (SELECT COALESCE(SUM(amount_fen), 0) FROM postings)"
    ", (SELECT COALESCE(SUM(shipped_quantity + 3 * accepted_quantity + 5 * cancelled_quantity), 0)"
    " FROM order_lines)"
)


@dataclass
class World:
    """The market the simulation trades in: 2 hospitals, 2 distributors, one listed product."""

    session: Session
    #: Plain values only: the session is cleared between seeds, so the world holds no ORM objects.
    listing_id: int
    batch_id: int
    hospitals: list[Actor]
    distributors: list[Actor]
    agency: Actor
    units_per_pack: int


def make_sim_world(session: Session) -> World:
    market = make_market(session)
    second = actor_of(make_user(session, market.stranger_distributor, Role.OPERATOR))
    authorizations.authorize_distributor(
        session,
        market.world.actor(market.world.manufacturer("A")),
        distributor_id=market.stranger_distributor.id,
        product_id=None,
        region_code="510100",
        now=START,
    )
    for item in market.world.items:
        item.pre_vbp_unit_price_e4 = 5_000  # 0.50 a unit before the batch (retained savings)
    session.flush()
    return World(
        session,
        market.listing.id,
        market.world.batch.id,
        [market.hospital_actor, market.other_hospital_actor],
        [market.distributor_actor, second],
        market.world.bureau,
        market.listing.product.units_per_pack,
    )


@dataclass
class Sim:
    world: World
    now: datetime = START
    model: ref.Model = field(default_factory=ref.Model)
    applied: list[Event] = field(default_factory=list)
    numbers: int = 0

    @property
    def s(self) -> Session:
        return self.world.session

    @property
    def today(self) -> date:
        return clock.business_date(self.now)

    def org(self, actor: Actor) -> int:
        return actor.org_id  # type: ignore[return-value]

    # --- applying an event -----------------------------------------------------------------------

    def apply(self, ev: Event) -> str:
        """Apply one event; returns "ok", "refused" (illegal, refused) or "skipped" (it names a
        record that does not exist in this replay)."""
        handler = getattr(self, f"do_{ev.kind}")
        try:
            verdict = handler(ev)
        except _Skip:
            return "skipped"
        self.applied.append(ev)
        return verdict

    def attempt(self, ev: Event, legal: bool, call: Callable[[], Any]) -> Any:
        """Run `call` in a savepoint. A legal call must succeed; an illegal one must raise a
        domain error and leave the database as it was."""
        before = None if legal else tuple(self.s.execute(FINGERPRINT).one())
        savepoint = self.s.begin_nested()
        try:
            result = call()
            self.s.flush()
        except DomainError as exc:
            savepoint.rollback()
            # As a new request's session would: nothing read inside the rolled-back savepoint
            # survives it (SQLite reuses the ids of rolled-back rows).
            self.s.expire_all()
            if legal:
                raise Disagreement(
                    f"{ev}: legal, but refused: {exc.code} {exc.message} {exc.fields}"
                ) from exc
            after = tuple(self.s.execute(FINGERPRINT).one())
            if after != before:
                raise Disagreement(f"{ev}: refused, but the database changed") from exc
            return _REFUSED
        if not legal:
            savepoint.rollback()
            raise Disagreement(f"{ev}: illegal, but the platform accepted it")
        savepoint.commit()
        return result

    # --- orders and logistics ----------------------------------------------------------------

    def do_advance(self, ev: Event) -> str:
        self.now += timedelta(days=ev.arg("days"), hours=ev.arg("hours"))
        return "ok"

    def do_place(self, ev: Event) -> str:
        h, d = self.world.hospitals[ev.arg("h")], self.world.distributors[ev.arg("d")]
        listing_id = self.world.listing_id
        quantities = ev.arg("quantities")
        order = self.attempt(
            ev,
            True,
            lambda: ordering.place_orders(
                self.s,
                h,
                distributor_id=self.org(d),
                lines=[ordering.LineRequest(listing_id, q) for q in quantities],
                urgency=ordering.Urgency.NORMAL,
                now=self.now,
            ),
        )
        o = ref.Order(len(self.model.orders), order.id, self.org(h), self.org(d), order.deadline_at)
        for k, (q, line) in enumerate(zip(quantities, order.lines, strict=True)):
            o.lines.append(ref.Line(k, o, line.id, q, line.pack_price_fen, self.today))
        self.model.orders.append(o)
        return "ok"

    def _order(self, ev: Event) -> ref.Order:
        key = ev.arg("order")
        if key >= len(self.model.orders):
            raise _Skip
        return self.model.orders[key]

    def _distributor_of(self, order: ref.Order) -> Actor:
        return next(a for a in self.world.distributors if a.org_id == order.distributor)

    def _hospital_of(self, hospital: int) -> Actor:
        return next(a for a in self.world.hospitals if a.org_id == hospital)

    def do_decide(self, ev: Event) -> str:
        o, accept = self._order(ev), ev.arg("accept")
        legal = o.status == "submitted"
        done = self.attempt(
            ev,
            legal,
            lambda: ordering.decide_order(
                self.s,
                self._distributor_of(o),
                o.db_id,
                accept=accept,
                reason=None if accept else "缺货",
                now=self.now,
            ),
        )
        if done is _REFUSED:
            return "refused"
        o.decided, o.refused = True, not accept
        for line in o.lines:
            line.refused = not accept and line.status != "cancelled"
        return "ok"

    def do_cancel(self, ev: Event) -> str:
        o = self._order(ev)
        chosen = [o.lines[k] for k in ev.arg("lines") if k < len(o.lines)] or o.lines
        legal = o.status not in ("refused", "cancelled", "completed") and any(
            line.remaining > 0 for line in chosen
        )
        ids = [line.db_id for line in chosen] if ev.arg("lines") else None
        done = self.attempt(
            ev,
            legal,
            lambda: ordering.cancel_order(
                self.s,
                self._hospital_of(o.hospital),
                o.db_id,
                reason="不再需要",
                now=self.now,
                order_line_ids=ids,
            ),
        )
        if done is _REFUSED:
            return "refused"
        for line in chosen:
            line.cancelled += max(0, line.remaining)
        return "ok"

    def do_ship(self, ev: Event) -> str:
        o = self._order(ev)
        line = o.lines[ev.arg("line") % len(o.lines)]
        qty = ev.arg("qty")
        legal = o.status in ("accepted", "partially_shipped") and 0 < qty <= line.remaining
        shipment = self.attempt(
            ev,
            legal,
            lambda: ordering.ship(
                self.s,
                self._distributor_of(o),
                o.db_id,
                lines=[ordering.ShipRequest(line.db_id, qty, "B2026", EXPIRY)],
                now=self.now,
            ),
        )
        if shipment is _REFUSED:
            return "refused"
        s = ref.Shipment(len(self.model.shipments), line, shipment.lines[0].id, qty, self.today)
        line.shipped += qty
        line.shipments.append(s)
        self.model.shipments.append(s)
        return "ok"

    def do_receive(self, ev: Event) -> str:
        key = ev.arg("shipment")
        if key >= len(self.model.shipments):
            raise _Skip
        s = self.model.shipments[key]
        rejected = min(ev.arg("rejected"), s.quantity)
        accepted = s.quantity - rejected + ev.arg("miscount")
        legal = not s.received and accepted >= 0 and accepted + rejected == s.quantity
        receipt = self.attempt(
            ev,
            legal,
            lambda: ordering.confirm_receipt(
                self.s,
                self._hospital_of(s.line.order.hospital),
                s.db_id,
                accepted=accepted,
                rejected=rejected,
                reason_code="damaged" if rejected else None,
                now=self.now,
            ),
        )
        if receipt is _REFUSED:
            return "refused"
        s.received, s.accepted, s.rejected = True, accepted, rejected
        s.line.accepted += accepted
        s.line.rejected += rejected
        r = ref.Receipt(len(self.model.receipts), s.line, receipt.id, accepted, self.today)
        s.line.receipts.append(r)
        self.model.receipts.append(r)
        return "ok"

    def _receipt(self, ev: Event) -> ref.Receipt:
        key = ev.arg("receipt")
        if key >= len(self.model.receipts):
            raise _Skip
        return self.model.receipts[key]

    def do_return(self, ev: Event) -> str:
        r, qty = self._receipt(ev), ev.arg("qty")
        legal = 0 < qty <= r.accepted - r.returned
        done = self.attempt(
            ev,
            legal,
            lambda: ordering.record_return(
                self.s,
                self._hospital_of(r.line.order.hospital),
                r.db_id,
                quantity=qty,
                reason="退货",
                now=self.now,
            ),
        )
        if done is _REFUSED:
            return "refused"
        r.returned += qty
        r.returns.append((qty, self.today))
        r.line.returned += qty
        return "ok"

    # --- invoices ------------------------------------------------------------------------------

    def _number(self) -> str:
        self.numbers += 1
        return f"{self.numbers:08d}"

    def do_invoice(self, ev: Event) -> str:
        r, qty = self._receipt(ev), ev.arg("qty")
        legal = 0 < qty <= r.accepted - r.returned - self.model.invoiced_qty(r)
        distributor = self._distributor_of(r.line.order)
        invoice = self.attempt(
            ev,
            legal,
            lambda: invoicing.record_invoice(
                self.s,
                distributor,
                hospital_id=r.line.order.hospital,
                invoice_code="051001",
                invoice_number=self._number(),
                issued_on=self.today,
                tax_rate=Decimal("0.13"),
                lines=[invoicing.InvoiceLineRequest(r.db_id, qty, qty * r.line.price_fen)],
                now=self.now,
            ),
        )
        if invoice is _REFUSED:
            return "refused"
        line = invoice.lines[0]
        i = ref.Invoice(
            len(self.model.invoices),
            r.line,
            r,
            line.id,
            invoice.id,
            qty,
            qty * r.line.price_fen,
            self.today,
            r.accepted_on + timedelta(days=ref.PAYMENT_DAYS),
        )
        r.line.invoices.append(i)
        self.model.invoices.append(i)
        return "ok"

    def _invoice(self, ev: Event) -> ref.Invoice:
        key = ev.arg("invoice")
        if key >= len(self.model.invoices):
            raise _Skip
        return self.model.invoices[key]

    def do_credit(self, ev: Event) -> str:
        target, qty = self._invoice(ev), ev.arg("qty")
        legal = (
            not target.red
            and target.status in ("confirmed", "pending", "disputed")
            and 0 < qty <= target.creditable()
        )
        distributor = self._distributor_of(target.line.order)
        invoice = self.attempt(
            ev,
            legal,
            lambda: invoicing.record_invoice(
                self.s,
                distributor,
                hospital_id=target.line.order.hospital,
                invoice_code="051001",
                invoice_number=self._number(),
                issued_on=self.today,
                tax_rate=Decimal("0.13"),
                kind=InvoiceKind.RED,
                original_invoice_id=target.invoice_db_id,
                lines=[
                    invoicing.InvoiceLineRequest(
                        target.receipt.db_id, -qty, -qty * target.line.price_fen, target.db_id
                    )
                ],
                now=self.now,
            ),
        )
        if invoice is _REFUSED:
            return "refused"
        line = invoice.lines[0]
        credit = ref.Invoice(
            len(self.model.invoices),
            target.line,
            target.receipt,
            line.id,
            invoice.id,
            -qty,
            -qty * target.line.price_fen,
            self.today,
            target.due_on,
            credited=target,
        )
        target.credits.append(credit)
        target.line.invoices.append(credit)
        self.model.invoices.append(credit)
        if target.status in ("pending", "disputed") and target.creditable() == 0:
            for x in (target, *[c for c in target.credits if c.status != "voided"]):
                x.status = "corrected"
            for app in self.model.applications:
                for s in app.lines:
                    if s.invoice is target and s.status == "disputed":
                        s.status = "corrected"
        return "ok"

    def do_decide_invoice(self, ev: Event) -> str:
        i, confirm = self._invoice(ev), ev.arg("confirm")
        legal = i.status == "pending" and not (confirm and i.red and i.credited.status != "confirmed")  # type: ignore[union-attr]
        done = self.attempt(
            ev,
            legal,
            lambda: invoicing.decide_invoice_line(
                self.s,
                self._hospital_of(i.line.order.hospital),
                i.db_id,
                confirm=confirm,
                reason=None if confirm else "金额待核",
                now=self.now,
            ),
        )
        if done is _REFUSED:
            return "refused"
        i.status = "confirmed" if confirm else "disputed"
        return "ok"

    def do_withdraw_dispute(self, ev: Event) -> str:
        i = self._invoice(ev)
        legal = i.status == "disputed" and not (i.red and i.credited.status != "confirmed")  # type: ignore[union-attr]
        done = self.attempt(
            ev,
            legal,
            lambda: invoicing.withdraw_dispute(
                self.s, self._hospital_of(i.line.order.hospital), i.db_id, note="已核对", now=self.now
            ),
        )
        if done is _REFUSED:
            return "refused"
        i.status = "confirmed"
        return "ok"

    def do_void(self, ev: Event) -> str:
        i = self._invoice(ev)
        legal = i.red and i.status in ("pending", "disputed")
        done = self.attempt(
            ev,
            legal,
            lambda: invoicing.void_credit(
                self.s, self._distributor_of(i.line.order), i.db_id, reason="开错", now=self.now
            ),
        )
        if done is _REFUSED:
            return "refused"
        i.status = "voided"
        return "ok"

    # --- settlement ------------------------------------------------------------------------------

    def do_file(self, ev: Event) -> str:
        h, d = self.world.hospitals[ev.arg("h")], self.world.distributors[ev.arg("d")]
        period = months_back(self.today, ev.arg("back"))
        taken = self.model.payable_lines(self.org(h), self.org(d), period)
        legal = ev.arg("back") >= 1 and bool(taken)
        app = self.attempt(
            ev,
            legal,
            lambda: settlement.file_application(
                self.s, d, hospital_id=self.org(h), period_month=period, now=self.now
            ),
        )
        if app is _REFUSED:
            return "refused"
        taken.sort(key=lambda i: i.db_id)
        for i in taken:
            for old in self.model.applications:
                for s in old.lines:
                    if s.invoice is i and s.status == "disputed":
                        s.status = "refiled"
        by_invoice = {x.invoice_line_id: x.id for x in app.lines}
        lines = [ref.SettlementLine(by_invoice[i.db_id], i, i.amount_fen) for i in taken]
        if sorted(by_invoice) != sorted(i.db_id for i in taken):
            raise Disagreement(
                f"{ev}: filed {sorted(by_invoice)}, the model expected {[i.db_id for i in taken]}"
            )
        self.model.applications.append(
            ref.Application(
                len(self.model.applications), app.id, self.org(h), self.org(d), period, self.today, lines
            )
        )
        return "ok"

    def _app(self, ev: Event) -> ref.Application:
        key = ev.arg("app")
        if key >= len(self.model.applications):
            raise _Skip
        return self.model.applications[key]

    def do_withdraw_app(self, ev: Event) -> str:
        a = self._app(ev)
        done = self.attempt(
            ev,
            a.status == "filed",
            lambda: settlement.withdraw_application(
                self.s,
                next(x for x in self.world.distributors if x.org_id == a.distributor),
                a.db_id,
                reason="有误",
                now=self.now,
            ),
        )
        if done is _REFUSED:
            return "refused"
        a.status = "withdrawn"
        for s in a.lines:
            s.status = "withdrawn"
        return "ok"

    def do_confirm_app(self, ev: Event) -> str:
        a, mask = self._app(ev), ev.arg("disputes")
        disputed = {s.db_id for k, s in enumerate(a.lines) if mask >> k & 1}
        done = self.attempt(
            ev,
            a.status == "filed",
            lambda: settlement.confirm_application(
                self.s,
                self._hospital_of(a.hospital),
                a.db_id,
                disputes={x: "待核" for x in disputed},
                now=self.now,
            ),
        )
        if done is _REFUSED:
            return "refused"
        for s in a.lines:
            s.status = "disputed" if s.db_id in disputed else "confirmed"
        a.confirmed_fen = sum(s.amount_fen for s in a.lines if s.status == "confirmed")
        a.confirmed_on = self.today
        a.status = "confirmed" if a.confirmed_fen > 0 else "closed" if a.confirmed_fen == 0 else "refund_due"
        return "ok"

    def do_approve(self, ev: Event) -> str:
        period = months_back(self.today, ev.arg("back"))
        due = [
            a for a in self.model.applications if a.status == "confirmed" and a.period == period and not a.run
        ]
        done = self.attempt(
            ev,
            bool(due),
            lambda: settlement.approve_run(self.s, self.world.agency, period_month=period, now=self.now),
        )
        if done is _REFUSED:
            return "refused"
        for a in due:
            a.status, a.run = "approved", True
        return "ok"

    def _earliest_payment(self, a: ref.Application) -> date:
        accepted = [s.invoice.receipt.accepted_on for s in a.lines if s.status == "confirmed"]
        return max([*accepted, a.confirmed_on or self.today])

    def do_pay(self, ev: Event) -> str:
        a, source = self._app(ev), ev.arg("source")
        self_pay = source == "self_pay"
        paid_on = self.today - timedelta(days=ev.arg("days_ago"))
        legal = (
            a.status == ("confirmed" if self_pay else "approved")
            and a.confirmed_fen > 0
            and self._earliest_payment(a) <= paid_on <= self.today
        )
        pre = self.model.prepayments.get((a.hospital, paid_on.year))
        if source == "prepayment" and legal:
            legal = pre is not None and not pre.cleared and pre.amount_fen - pre.drawn_fen >= a.confirmed_fen
        actor = self._hospital_of(a.hospital) if self_pay else self.world.agency
        done = self.attempt(
            ev,
            legal,
            lambda: settlement_payments.pay_application(
                self.s,
                actor,
                a.db_id,
                bank_reference=f"B{a.db_id}",
                paid_on=paid_on,
                now=self.now,
                source=PaymentSource(source),
            ),
        )
        if done is _REFUSED:
            return "refused"
        a.status, a.paid_on, a.source = "paid", paid_on, source
        if source == "fund":
            self.model.fund.setdefault(
                (a.hospital, paid_on.replace(day=1)), ref.FundMonth()
            ).deducted_fen += a.confirmed_fen
        if source == "prepayment":
            pre.drawn_fen += a.confirmed_fen  # type: ignore[union-attr]
        return "ok"

    def do_refund(self, ev: Event) -> str:
        a = self._app(ev)
        on = self.today - timedelta(days=ev.arg("days_ago"))
        legal = a.status == "refund_due" and (a.confirmed_on or self.today) <= on <= self.today
        done = self.attempt(
            ev,
            legal,
            lambda: settlement_payments.record_refund(
                self.s, self.world.agency, a.db_id, bank_reference=f"R{a.db_id}", refunded_on=on, now=self.now
            ),
        )
        if done is _REFUSED:
            return "refused"
        a.status, a.paid_on, a.source = "refunded", on, "fund"
        self.model.fund.setdefault(
            (a.hospital, on.replace(day=1)), ref.FundMonth()
        ).deducted_fen += a.confirmed_fen
        return "ok"

    # --- the fund's side -------------------------------------------------------------------------

    def do_fund_settlement(self, ev: Event) -> str:
        h = self.org(self.world.hospitals[ev.arg("h")])
        month = months_back(self.today, ev.arg("back"))
        row = self.model.fund.get((h, month))
        legal = ev.arg("back") >= 0 and (row is None or row.gross_fen is None)
        gross = ev.arg("gross")
        done = self.attempt(
            ev,
            legal,
            lambda: fund.record_fund_settlement(
                self.s, self.world.agency, hospital_id=h, period_month=month, gross_fen=gross, now=self.now
            ),
        )
        if done is _REFUSED:
            return "refused"
        self.model.fund.setdefault((h, month), ref.FundMonth()).gross_fen = gross
        return "ok"

    def do_collect(self, ev: Event) -> str:
        h = self.org(self.world.hospitals[ev.arg("h")])
        month = months_back(self.today, ev.arg("back"))
        row = self.model.fund.get((h, month))
        if row is None:
            raise _Skip
        outstanding = row.shortfall_fen - row.collected_fen
        amount = max(1, outstanding * ev.arg("share") // 4) if outstanding > 0 else 1
        legal = row.gross_fen is not None and 0 < amount <= outstanding
        db_row = self.s.scalars(
            select(fund.FundSettlement).where(
                fund.FundSettlement.hospital_id == h, fund.FundSettlement.period_month == month
            )
        ).one()
        done = self.attempt(
            ev,
            legal,
            lambda: fund.collect_shortfall(
                self.s,
                self.world.agency,
                db_row.id,
                amount_fen=amount,
                bank_reference="TS",
                collected_on=self.today,
                now=self.now,
            ),
        )
        if done is _REFUSED:
            return "refused"
        row.collected_fen += amount
        return "ok"

    def do_grant(self, ev: Event) -> str:
        h, year = self.org(self.world.hospitals[ev.arg("h")]), ev.arg("year")
        legal = (h, year) not in self.model.prepayments and year in (2026, 2027)
        pre = self.attempt(
            ev,
            legal,
            lambda: fund.grant_prepayment(self.s, self.world.agency, hospital_id=h, year=year, now=self.now),
        )
        if pre is _REFUSED:
            return "refused"
        self.model.prepayments[(h, year)] = ref.Prepayment(pre.id, h, year, pre.amount_fen)
        return "ok"

    def do_clear(self, ev: Event) -> str:
        h, year = self.org(self.world.hospitals[ev.arg("h")]), ev.arg("year")
        pre = self.model.prepayments.get((h, year))
        if pre is None:
            raise _Skip
        done = self.attempt(
            ev,
            not pre.cleared,
            lambda: fund.clear_prepayment(self.s, self.world.agency, pre.db_id, now=self.now),
        )
        if done is _REFUSED:
            return "refused"
        pre.cleared = True
        return "ok"

    # --- statements --------------------------------------------------------------------------------

    def do_statements(self, ev: Event) -> str:
        period = months_back(self.today, ev.arg("back"))
        self.attempt(
            ev,
            True,
            lambda: statements.generate(
                self.s, self.world.agency, period=period, as_of=self.now, now=self.now
            ),
        )
        return "ok"

    def do_decide_statement(self, ev: Event) -> str:
        current = self.s.scalars(statements.statements_for(Actor.system()).order_by(Statement.id)).all()
        if not current:
            raise _Skip
        st = current[ev.arg("pick") % len(current)]
        hospital_side = ev.arg("hospital")
        decision = st.hospital_decision if hospital_side else st.enterprise_decision
        action = ev.arg("action")  # confirm | dispute
        legal = decision.value == "pending" or (decision.value == "disputed" and action == "confirm")
        actor = (
            self._hospital_of(st.hospital_id)
            if hospital_side
            else next(a for a in self.world.distributors if a.org_id == st.enterprise_id)
        )
        reason = (
            "已核对"
            if action == "confirm" and decision.value == "disputed"
            else None
            if action == "confirm"
            else "待核"
        )
        done = self.attempt(
            ev,
            legal,
            lambda: statements.decide(
                self.s, actor, st.id, confirm=action == "confirm", reason=reason, now=self.now
            ),
        )
        return "refused" if done is _REFUSED else "ok"


class _Skip(Exception):
    """The event names a record this replay does not have."""


_REFUSED = object()


def months_back(today: date, back: int) -> date:
    day = today.replace(day=1)
    for _ in range(back):
        day = (day - timedelta(days=1)).replace(day=1)
    for _ in range(-back):
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


__all__ = ["Disagreement", "Event", "Sim", "World", "event", "make_sim_world", "months_back", "next_month"]
