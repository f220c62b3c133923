"""The traceability code's one transition table. Codes move in bulk (one UPDATE per set), so the
services check a move with `TRACE_CODE.check(source, target)` for the sources they update."""

from __future__ import annotations

from core.glossary import terms_of
from core.states import Machine
from ledger.trace.models import TraceCodeState

T = TraceCodeState
TRACE_CODE = Machine(
    "追溯码",
    {
        T.IN_TRANSIT: frozenset({T.KEPT, T.REJECTED, T.SUPERSEDED}),
        T.KEPT: frozenset({T.RETURNED}),
        T.REJECTED: frozenset(),
        T.RETURNED: frozenset(),
        T.SUPERSEDED: frozenset(),
    },
    terms_of(T),
    attribute="state",
)
