"""Generating events from the model's state: mostly the next plausible step of some record (so the
money flow is reached: filings, confirmations, runs, payments, refunds, collections), now and
then a deliberately wild one that the platform must refuse."""

from __future__ import annotations

import random
from collections.abc import Callable

from tests.simulation.driver import Event, Sim, event, months_back

#: Share of events whose parameters are drawn wild (illegal, or legal by chance).
WILD = 0.12

Maker = Callable[[], Event]


def generate(sim: Sim, rng: random.Random) -> Event:
    """One event: a kind drawn by weight among those with something to act on."""
    wild = rng.random() < WILD
    options: list[tuple[float, Maker]] = []
    for weight, make in _makers(sim, rng, wild):
        if make is not None:
            options.append((weight, make))
    total = sum(w for w, _ in options)
    draw = rng.random() * total
    for weight, make in options:
        draw -= weight
        if draw <= 0:
            return make()
    return options[-1][1]()


def _makers(sim: Sim, rng: random.Random, wild: bool) -> list[tuple[float, Maker | None]]:
    m = sim.model
    today = sim.today
    pick = rng.choice

    def advance() -> Event:
        return event("advance", days=pick([0, 0, 1, 1, 2, 3, 6, 10]), hours=rng.randrange(24))

    def place() -> Event:
        count = pick([1, 1, 2])
        return event(
            "place",
            h=rng.randrange(2),
            d=rng.randrange(2),
            quantities=tuple(rng.randint(1, 30) for _ in range(count)),
        )

    makers: list[tuple[float, Maker | None]] = [(1.2, advance), (0.8, place)]

    submitted = [o.key for o in m.orders if o.status == "submitted"]
    makers.append(
        (
            1.5,
            (
                lambda: event(
                    "decide",
                    order=pick(submitted) if not wild else rng.randrange(len(m.orders)),
                    accept=rng.random() < 0.9,
                )
            )
            if submitted or (wild and m.orders)
            else None,
        )
    )
    cancellable = [o.key for o in m.orders if o.status not in ("refused", "cancelled", "completed")]
    makers.append(
        (
            0.25,
            (
                lambda: event(
                    "cancel",
                    order=pick(cancellable) if not wild else rng.randrange(len(m.orders)),
                    lines=tuple(k for k in range(2) if rng.random() < 0.5),
                )
            )
            if cancellable or (wild and m.orders)
            else None,
        )
    )
    shippable = [
        (o.key, k, line.remaining)
        for o in m.orders
        if o.status in ("accepted", "partially_shipped")
        for k, line in enumerate(o.lines)
        if line.remaining > 0
    ]

    def ship() -> Event:
        order, k, left = pick(shippable)
        qty = left + rng.randint(1, 3) if wild else (left if rng.random() < 0.6 else rng.randint(1, left))
        return event("ship", order=order, line=k, qty=qty)

    makers.append((2.0, ship if shippable else None))
    in_transit = [s.key for s in m.shipments if not s.received]
    makers.append(
        (
            2.0,
            (
                lambda: event(
                    "receive",
                    shipment=pick(in_transit) if in_transit and not wild else rng.randrange(len(m.shipments)),
                    rejected=pick([0, 0, 0, 0, 1, 2]),
                    miscount=pick([1, -1]) if wild else 0,
                )
            )
            if in_transit or (wild and m.shipments)
            else None,
        )
    )
    kept = [r.key for r in m.receipts if r.accepted - r.returned > 0]
    makers.append(
        (0.35, (lambda: event("return", receipt=pick(kept), qty=rng.randint(1, 3))) if kept else None)
    )
    invoiceable = [r for r in m.receipts if r.accepted - r.returned - m.invoiced_qty(r) > 0]

    def invoice() -> Event:
        if invoiceable and not wild:
            r = pick(invoiceable)
            left = r.accepted - r.returned - m.invoiced_qty(r)
            return event("invoice", receipt=r.key, qty=left if rng.random() < 0.75 else rng.randint(1, left))
        r = pick(m.receipts)
        return event("invoice", receipt=r.key, qty=r.accepted + 1)

    makers.append((2.0, invoice if invoiceable or (wild and m.receipts) else None))

    any_invoice = (lambda: rng.randrange(len(m.invoices))) if m.invoices else None
    pending = [i.key for i in m.invoices if i.status == "pending"]
    makers.append(
        (
            2.5,
            (
                lambda: event(
                    "decide_invoice",
                    invoice=pick(pending) if pending and not wild else any_invoice(),  # type: ignore[misc]
                    confirm=rng.random() < 0.85,
                )
            )
            if pending or (wild and m.invoices)
            else None,
        )
    )
    disputed = [i.key for i in m.invoices if i.status == "disputed"]
    makers.append(
        (
            0.6,
            (lambda: event("withdraw_dispute", invoice=pick(disputed) if not wild else any_invoice()))  # type: ignore[misc]
            if disputed
            else None,
        )
    )
    open_credits = [i.key for i in m.invoices if i.red and i.status in ("pending", "disputed")]
    makers.append(
        (
            0.2,
            (lambda: event("void", invoice=pick(open_credits) if not wild else any_invoice()))
            if open_credits
            else None,
        )  # type: ignore[misc]
    )
    creditable = [
        i
        for i in m.invoices
        if not i.red and i.status in ("confirmed", "pending", "disputed") and i.creditable() > 0
    ]

    def credit() -> Event:
        target = pick(creditable)
        left = target.creditable()
        if wild:
            qty = left + 1
        elif target.status != "confirmed" and rng.random() < 0.6:
            qty = left  # corrected in full
        else:
            qty = rng.randint(1, left)
        return event("credit", invoice=target.key, qty=qty)

    makers.append((0.5, credit if creditable else None))

    # --- settlement: file what is payable, confirm, approve, pay, refund ----------------------
    fileable = []
    for h in range(2):
        for d in range(2):
            hospital, distributor = sim.world.hospitals[h].org_id, sim.world.distributors[d].org_id
            for back in (1, 2):
                period = months_back(today, back)
                if m.payable_lines(hospital, distributor, period):  # type: ignore[arg-type]
                    fileable.append((h, d, back))
    makers.append(
        (
            1.5,
            (
                lambda: (
                    event("file", **dict(zip(("h", "d", "back"), pick(fileable), strict=True)))
                    if not wild
                    else event("file", h=rng.randrange(2), d=rng.randrange(2), back=pick([0, 1, 3]))
                )
            )
            if fileable or wild
            else None,
        )
    )
    by_status: dict[str, list[int]] = {}
    for a in m.applications:
        by_status.setdefault(a.status, []).append(a.key)
    any_app = (lambda: rng.randrange(len(m.applications))) if m.applications else None
    if m.applications:
        filed = by_status.get("filed", [])
        makers.append(
            (
                2.0,
                (
                    lambda: event(
                        "confirm_app",
                        app=pick(filed) if not wild else any_app(),
                        disputes=pick([0, 0, 0, 0, 1, 2, 5]),
                    )
                )  # type: ignore[misc]
                if filed
                else None,
            )
        )
        makers.append(
            (
                0.15,
                (lambda: event("withdraw_app", app=pick(filed) if not wild else any_app()))
                if filed
                else None,
            )  # type: ignore[misc]
        )
        periods = sorted({a.period for a in m.applications if a.status == "confirmed" and not a.run})
        backs = [b for b in range(0, 8) if months_back(today, b) in periods]
        makers.append(
            (
                1.5,
                (lambda: event("approve", back=pick(backs) if not wild else pick([0, 1, 5])))
                if backs
                else None,
            )
        )
        payable = by_status.get("approved", []) + by_status.get("confirmed", [])

        def pay() -> Event:
            key = pick(payable) if payable and not wild else any_app()  # type: ignore[misc]
            app = m.applications[key]
            source = "self_pay" if app.status == "confirmed" else pick(["fund", "fund", "fund", "prepayment"])
            if wild:
                source = pick(["fund", "prepayment", "self_pay"])
            return event(
                "pay", app=key, source=source, days_ago=pick([0, 0, 1, 2]) if not wild else pick([-2, 400])
            )

        makers.append((2.0, pay if payable or wild else None))
        refunds = by_status.get("refund_due", [])
        makers.append(
            (
                1.0,
                (
                    lambda: event(
                        "refund",
                        app=pick(refunds) if not wild else any_app(),
                        days_ago=pick([0, 1]) if not wild else -3,
                    )
                )  # type: ignore[misc]
                if refunds or wild
                else None,
            )
        )

    # --- the fund's side and statements ------------------------------------------------------
    unrecorded = []
    for h in range(2):
        for back in (0, 1, 2):
            row = m.fund.get((sim.world.hospitals[h].org_id, months_back(today, back)))  # type: ignore[arg-type]
            if row is None or row.gross_fen is None:
                unrecorded.append((h, back))

    def fund_settlement() -> Event:
        if wild or not unrecorded:
            return event("fund_settlement", h=rng.randrange(2), back=pick([-1, 0, 1]), gross=1)
        h, back = pick(unrecorded)
        return event("fund_settlement", h=h, back=back, gross=pick([0, 2_000_00, 20_000_00, 500_000_00]))

    makers.append((0.4, fund_settlement))
    short = [
        (h, back)
        for h in range(2)
        for back in range(0, 6)
        if (row := m.fund.get((sim.world.hospitals[h].org_id, months_back(today, back)))) is not None  # type: ignore[arg-type]
        and row.gross_fen is not None
        and row.shortfall_fen > row.collected_fen
    ]
    makers.append(
        (
            0.8,
            (
                lambda: event(
                    "collect",
                    **dict(zip(("h", "back"), pick(short), strict=True)),
                    share=rng.randint(1, 5 if wild else 4),
                )
            )
            if short
            else None,
        )
    )
    makers.append((0.15, lambda: event("grant", h=rng.randrange(2), year=pick([2026, 2026, 2027, 2031]))))
    makers.append(
        (
            0.05,
            (lambda: event("clear", h=rng.randrange(2), year=pick([2026, 2027]))) if m.prepayments else None,
        )
    )
    makers.append((0.25, lambda: event("statements", back=pick([0, 1]))))
    makers.append(
        (
            0.4,
            lambda: event(
                "decide_statement",
                pick=rng.randrange(1000),
                hospital=rng.random() < 0.5,
                action=pick(["confirm", "confirm", "dispute"]),
            ),
        )
    )
    return makers
