"""The batch lifecycle as an explicit transition table (anything else is an InvalidState → 409)."""

from __future__ import annotations

from bidding.models import BatchStatus as S
from bidding.models import SelectionSource
from core.errors import InvalidState
from core.glossary import terms_of

TRANSITIONS: dict[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.DEMAND_COLLECTION}),
    # Results decided elsewhere (national, alliance lead) skip bidding and opening: demand closes
    # and the imported results are executed (bidding/results_import.py). move() keeps each
    # batch on its own path by its `selection`.
    S.DEMAND_COLLECTION: frozenset({S.BIDDING, S.RESULTS_PUBLISHED}),
    S.BIDDING: frozenset({S.SEALED}),
    S.SEALED: frozenset({S.OPENED}),
    # Opened results are proposed for a publicity period (公示) and become published (final) only
    # when a period ends with no open objection (bidding/publicity.py).
    S.OPENED: frozenset({S.RESULTS_PROPOSED}),
    S.RESULTS_PROPOSED: frozenset({S.RESULTS_PUBLISHED}),
    S.RESULTS_PUBLISHED: frozenset({S.EXECUTING}),
    S.EXECUTING: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

#: The batch states in words: the one glossary (core/glossary.py).
LABELS = terms_of(S)


#: The states a batch passes only when selected here (bids, sealing, opening) and only when its
#: results were decided elsewhere: the one table above, two paths through it.
#: Imported results were publicised by whoever selected them (the national office, the alliance
#: lead), so an imported batch has no publicity period here.
LOCAL_ONLY = frozenset({S.BIDDING, S.SEALED, S.OPENED, S.RESULTS_PROPOSED})
IMPORTED_ONLY_EDGES = frozenset({(S.DEMAND_COLLECTION, S.RESULTS_PUBLISHED)})


def allowed(current: S, target: S, selection: SelectionSource = SelectionSource.LOCAL) -> bool:
    """`current → target` is in the table and on the batch's path."""
    if target not in TRANSITIONS[current]:
        return False
    if selection is SelectionSource.IMPORTED:
        return target not in LOCAL_ONLY
    return (current, target) not in IMPORTED_ONLY_EDGES


def check_transition(current: S, target: S, selection: SelectionSource = SelectionSource.LOCAL) -> None:
    """Raise InvalidState unless `current → target` is in the table and on the batch's path."""
    if not allowed(current, target, selection):
        raise InvalidState(
            f"批次状态不能从“{LABELS[current]}”变为“{LABELS[target]}” "
            f"(illegal batch transition {current.value} → {target.value})",
            code="illegal_transition",
        )
