"""What must hold after every step of the simulation."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from bidding.models import ProcurementBatch
from core.actors import Actor
from ledger import reconcile, statements
from ledger.figures.savings import batch_retained_savings
from ledger.invariants import check_ledger
from ledger.journal_check import actual_balances
from ledger.models import AccountPurpose
from ledger.money_rules import SavingsFormula
from ledger.queries import agreed_volume_progress
from reports.indicators import GroupBy, compute_indicators
from tests.simulation import model as ref
from tests.simulation.driver import Disagreement, Sim, months_back

#: The province's savings formula in the simulation (vbp-rules.md §4.4, E9 inputs).
FORMULA = SavingsFormula(fund_payment_ratio=Decimal("0.70"), insured_share=Decimal("0.90"))

P = AccountPurpose


def check_after_step(sim: Sim) -> None:
    """The ledger's invariants, each line's reconciliation and journal money against the model, and
    a way out for every line that is not finished."""
    report = check_ledger(sim.s)
    if not report.ok:
        raise Disagreement("ledger invariants: " + " | ".join(report.problems()))
    _reconciliation(sim)
    _journal(sim)
    _exits(sim)
    _figures(sim)


def _reconciliation(sim: Sim) -> None:
    results = {
        r.order_line_id: r
        for r in reconcile.reconcile_lines(sim.s, Actor.system(), reconcile.Slice(), as_of=sim.now)
    }
    for line in sim.model.lines:
        want = sim.model.expected(line, sim.now, sim.today)
        got = results[line.db_id]
        if (got.status.value, got.diff_qty, got.diff_fen) != (want.status, want.diff_qty, want.diff_fen):
            raise Disagreement(
                f"order line {line.db_id} (order {line.order.key}, line {line.key}): reconciliation says "
                f"{got.status.value} {got.diff_qty} packs {got.diff_fen} fen, the model "
                f"{want.status} {want.diff_qty} packs {want.diff_fen} fen "
                f"[qty {line.quantity} cancelled {line.cancelled} shipped {line.shipped} "
                f"accepted {line.accepted} rejected {line.rejected} returned {line.returned}; invoices "
                f"{[(i.quantity, i.status) for i in line.invoices]}]"
            )


def _journal(sim: Sim) -> None:
    have = actual_balances(sim.s)
    want: dict[tuple[AccountPurpose, int, int | None], int] = defaultdict(int)
    for line in sim.model.lines:
        h, d = line.order.hospital, line.order.distributor
        confirmed, paid = sim.model.confirmed_fen(line), sim.model.paid_fen(line)
        want[(P.HOSPITAL_PURCHASES, h, line.db_id)] = confirmed
        want[(P.HOSPITAL_PAYABLE, h, line.db_id)] = paid - confirmed
        want[(P.ENTERPRISE_RECEIVABLE, d, line.db_id)] = confirmed - paid
        want[(P.ENTERPRISE_SALES, d, line.db_id)] = -confirmed
        want[(P.ENTERPRISE_CASH, d, line.db_id)] = paid
        want[(P.FUND_CASH, 0, line.db_id)] = -sim.model.paid_fen(line, "fund")
        want[(P.HOSPITAL_PREPAYMENT, h, line.db_id)] = -sim.model.paid_fen(line, "prepayment")
        want[(P.HOSPITAL_CASH, h, line.db_id)] = -sim.model.paid_fen(line, "self_pay")
    for (purpose, party, line_id), fen in want.items():
        got = have.get((purpose, party, line_id), 0)
        if got != fen:
            raise Disagreement(
                f"journal {purpose.value}[{party}] order line {line_id}: {got} fen, the model says {fen}"
            )
    claim: dict[int, int] = defaultdict(int)
    short: dict[int, int] = defaultdict(int)
    for (h, _), row in sim.model.fund.items():
        claim[h] += (row.gross_fen or 0) - row.covered_fen
        short[h] += row.shortfall_fen - row.collected_fen
    for h in {*claim, *short}:
        got_claim = have.get((P.HOSPITAL_FUND_CLAIM, h, None), 0)
        got_short = -have.get((P.HOSPITAL_FUND_SHORTFALL, h, None), 0)
        if (got_claim, got_short) != (claim[h], short[h]):
            raise Disagreement(
                f"fund settlement of hospital {h}: journal claim {got_claim} shortfall {got_short}, "
                f"the model {claim[h]} and {short[h]}"
            )


#: For each reconciliation status that is not an end, how the line gets out of it.
def _exits(sim: Sim) -> None:
    m = sim.model
    for line in m.lines:
        state = m.expected(line, sim.now, sim.today).status
        if state in ("complete", "closed"):
            continue
        if not _has_exit(m, line, state):
            raise Disagreement(f"order line {line.db_id} is {state} with no legal way out")
    for app in m.applications:
        if app.status in ("filed", "confirmed", "approved", "refund_due"):
            continue  # confirm / withdraw; approve or self-pay; pay; refund: always open
        if app.status not in ("withdrawn", "closed", "paid", "refunded"):
            raise Disagreement(f"application {app.db_id} in unknown state {app.status}")


def _has_exit(m: ref.Model, line: ref.Line, state: str) -> bool:
    # A pending or disputed credit is decided by the hospital (confirmed, or withdrawn) or voided by
    # its issuer; until then the packs it credits are neither invoiceable nor settled.
    open_credit = any(i.red and i.status in ("pending", "disputed") for i in line.invoices)
    receipts_to_invoice = open_credit or any(
        r.accepted - r.returned - m.invoiced_qty(r) > 0 for r in line.receipts
    )
    if state in ("awaiting_shipment", "shipment_overdue", "short_or_rejected"):
        # The distributor ships (once the order is accepted) or the hospital cancels the rest.
        return line.remaining > 0 and line.order.status not in ("refused", "cancelled", "completed")
    if state == "awaiting_receipt":
        return any(not s.received for s in line.shipments)
    if state in ("awaiting_invoice", "invoice_overdue"):
        return receipts_to_invoice
    if state == "invoice_qty_mismatch":
        # A credit of an invoiced line (or the pending credit's confirmation) brings it back.
        return any(not i.red and i.creditable() > 0 for i in line.invoices) or any(
            i.red and i.status in ("pending", "disputed") for i in line.invoices
        )
    if state == "disputed":
        return any(i.status == "disputed" for i in line.invoices) or any(
            s.invoice.line is line and s.status == "disputed" for a in m.applications for s in a.lines
        )
    # awaiting_payment, payment_overdue, overpaid: confirm pending lines, file what is confirmed
    # (credits included), confirm / approve / pay the applications, or record the refund.
    return state in ("awaiting_payment", "payment_overdue", "overpaid")


def _figures(sim: Sim) -> None:
    """Progress, retained savings, the indicator report and the statements agree with each other
    and with the model, to the unit and the fen."""
    system, on = Actor.system(), sim.today
    batch = sim.s.get_one(ProcurementBatch, sim.world.batch_id)
    progress: dict[int, int] = defaultdict(int)
    for row in agreed_volume_progress(sim.s, system, on=on, batch_id=batch.id):
        progress[row.hospital_id] += row.accepted_quantity
    year_start = batch.cycle_start_on
    for h in (a.org_id for a in sim.world.hospitals):
        want = sim.model.completed_units(h, year_start, on) * sim.world.units_per_pack
        if progress.get(h, 0) != want:  # type: ignore[call-overload]
            raise Disagreement(f"progress of hospital {h}: {progress.get(h, 0)} units, the model {want}")  # type: ignore[call-overload]
    savings = batch_retained_savings(sim.s, system, batch=batch, on=on, formula=FORMULA)
    report = compute_indicators(
        sim.s,
        system,
        period_from=year_start.replace(day=1),
        period_to=on.replace(day=1),
        group_by=GroupBy.HOSPITAL,
        as_of=on,
        savings_formula=FORMULA,
    )
    for row in report.rows:
        h = int(row.key)
        saved = savings.by_hospital.get(h)
        if saved is None:
            continue
        if (row.completed_units, row.retained_savings_fen) != (progress.get(h, 0), saved.result.retained_fen):
            raise Disagreement(
                f"hospital {h}: the indicator report says {row.completed_units} units and "
                f"{row.retained_savings_fen} fen retained; progress {progress.get(h, 0)}, "
                f"retained savings {saved.result.retained_fen}"
            )
    _statements(sim)


def _statements(sim: Sim) -> None:
    """Each statement just generated froze its lines as the reconciliation shows them now."""
    if not sim.applied or sim.applied[-1].kind != "statements":
        return
    period = months_back(sim.today, sim.applied[-1].arg("back"))
    for statement in sim.s.scalars(statements.statements_for(Actor.system(), period=period)):
        if statement.as_of != sim.now:
            continue
        by_line = {
            r.order_line_id: r
            for r in reconcile.reconcile_lines(
                sim.s,
                Actor.system(),
                reconcile.Slice(
                    order_line_ids=[line["order_line_id"] for line in statement.payload["lines"]]
                ),
                as_of=sim.now,
            )
        }
        for line in statement.payload["lines"]:
            r = by_line[line["order_line_id"]]
            if (line["status"], line["diff_fen"], line["paid_fen"], line["invoiced_fen"]) != (
                r.status.value,
                r.diff_fen,
                r.paid_fen,
                r.inv_fen,
            ):
                raise Disagreement(
                    f"statement {statement.id} line {line['order_line_id']} differs from reconciliation"
                )
