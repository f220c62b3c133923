"""The warning raised when a code is delivered twice (diversion or counterfeit,
supervision-and-interop.md §5): found at the moment it happens, not by the daily job."""

from __future__ import annotations

from ledger.supervision.warnings import event_rule

DUPLICATE_TRACE_CODE = "duplicate_trace_code"

event_rule(DUPLICATE_TRACE_CODE, "追溯码重复配送")
