"""State machines as explicit transition tables (one per kind of record).

Every state change of a record goes through its machine: `machine.move(record, target)` checks the
table, sets the attribute and answers an illegal move with `InvalidState` (HTTP 409). A machine
also says which states are terminal, so a test can walk every table and prove that each
non-terminal state has a legal way out (three-flows.md, "Corrections and their exits").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from core.errors import InvalidState

S = TypeVar("S", bound=enum.StrEnum)


@dataclass(frozen=True)
class Machine(Generic[S]):
    """A transition table: `transitions[state]` are the states it may move to."""

    #: The record's name in messages ("订单行 (order line)").
    name: str
    transitions: Mapping[S, frozenset[S]]
    #: Chinese label of each state, for messages.
    labels: Mapping[S, str] = field(default_factory=dict)
    #: The attribute holding the state on the record.
    attribute: str = "status"

    def __post_init__(self) -> None:
        states = set(self.transitions)
        for source, targets in self.transitions.items():
            unknown = set(targets) - states
            if unknown:
                raise ValueError(f"{self.name}: {source} moves to states outside the table: {unknown}")

    @property
    def states(self) -> frozenset[S]:
        return frozenset(self.transitions)

    @property
    def terminal(self) -> frozenset[S]:
        """States with no way out: the end of a record's life."""
        return frozenset(s for s, targets in self.transitions.items() if not targets)

    def allows(self, current: S, target: S) -> bool:
        return target in self.transitions[current]

    def label(self, state: S) -> str:
        return self.labels.get(state, state.value)

    def check(self, current: S, target: S) -> None:
        """Raise InvalidState unless `current → target` is in the table."""
        if not self.allows(current, target):
            raise InvalidState(
                f"{self.name}状态不能从“{self.label(current)}”变为“{self.label(target)}” "
                f"(illegal transition {current.value} → {target.value})",
                code="illegal_transition",
            )

    def move(self, record: Any, target: S) -> None:
        """Move `record` to `target` through the table (an action: staying put is illegal too)."""
        self.check(getattr(record, self.attribute), target)
        setattr(record, self.attribute, target)

    def derive(self, record: Any, target: S) -> bool:
        """Set a state derived from quantities: staying in place is fine, any change must be in the
        table. Returns whether the state changed."""
        if getattr(record, self.attribute) == target:
            return False
        self.move(record, target)
        return True

    def require(self, record: Any, *allowed: S, action: str) -> None:
        """Raise InvalidState unless the record is in one of `allowed` (an action that keeps the
        state but is only legal in some states, e.g. shipping more of a partly shipped line)."""
        current = getattr(record, self.attribute)
        if current not in allowed:
            raise InvalidState(
                f"{self.name}当前状态“{self.label(current)}”不允许{action} "
                f"({action} is not allowed in state {current.value})",
                code="illegal_transition",
            )

    def reachable(self, start: S) -> frozenset[S]:
        """Every state reachable from `start` (start included)."""
        seen, todo = {start}, [start]
        while todo:
            for target in self.transitions[todo.pop()]:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return frozenset(seen)

    def dead_ends(self) -> list[S]:
        """Non-terminal states from which no terminal state can be reached (must be empty)."""
        terminal = self.terminal
        return [s for s in self.transitions if s not in terminal and not (self.reachable(s) & terminal)]
