"""The procurement agreement's one transition table. Either party may sign first; the second
signature makes it signed. A signed agreement is superseded by its renewal for the next cycle
year (vbp-rules.md §1.8) or terminated by the bureau; an unsigned one may be terminated too."""

from __future__ import annotations

from core.glossary import terms_of
from core.states import Machine
from ledger.contracts.models import AgreementStatus

A = AgreementStatus
AGREEMENT = Machine(
    "购销协议",
    {
        A.GENERATED: frozenset({A.SIGNED_BY_HOSPITAL, A.SIGNED_BY_ENTERPRISE, A.TERMINATED}),
        A.SIGNED_BY_HOSPITAL: frozenset({A.SIGNED, A.TERMINATED}),
        A.SIGNED_BY_ENTERPRISE: frozenset({A.SIGNED, A.TERMINATED}),
        A.SIGNED: frozenset({A.SUPERSEDED, A.TERMINATED}),
        A.SUPERSEDED: frozenset(),
        A.TERMINATED: frozenset(),
    },
    terms_of(A),
)
#: In force or on its way to it: what a hospital and a winner trade under.
LIVE = (A.GENERATED, A.SIGNED_BY_HOSPITAL, A.SIGNED_BY_ENTERPRISE, A.SIGNED)


def after_signature(current: AgreementStatus, party: str) -> AgreementStatus:
    """The state a signature by `party` ("hospital" | "enterprise") leads to from `current`."""
    if current is A.GENERATED:
        return A.SIGNED_BY_HOSPITAL if party == "hospital" else A.SIGNED_BY_ENTERPRISE
    return A.SIGNED
