"""The batch lifecycle as an explicit transition table (anything else is an InvalidState → 409)."""

from __future__ import annotations

from bidding.models import BatchStatus as S
from core.errors import InvalidState
from core.glossary import terms_of

TRANSITIONS: dict[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.DEMAND_COLLECTION}),
    S.DEMAND_COLLECTION: frozenset({S.BIDDING}),
    S.BIDDING: frozenset({S.SEALED}),
    S.SEALED: frozenset({S.OPENED}),
    S.OPENED: frozenset({S.RESULTS_PUBLISHED}),
    S.RESULTS_PUBLISHED: frozenset({S.EXECUTING}),
    S.EXECUTING: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

#: The batch states in words: the one glossary (core/glossary.py).
LABELS = terms_of(S)


def check_transition(current: S, target: S) -> None:
    """Raise InvalidState unless `current → target` is in the table."""
    if target not in TRANSITIONS[current]:
        raise InvalidState(
            f"批次状态不能从“{LABELS[current]}”变为“{LABELS[target]}” "
            f"(illegal batch transition {current.value} → {target.value})",
            code="illegal_transition",
        )
