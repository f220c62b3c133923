"""Supervision thresholds, one place (supervision-and-interop.md §1–§3, vbp-rules.md §1.7, §8).

Each number is a setting because no national text fixes it; the default and its source are on the
field. The shell reads them from `VBP_SUP_<FIELD>` variables (`SupervisionSettings.from_env`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class SupervisionSettings:
    # --- supply guarantee (§1) ------------------------------------------------------------------
    #: An order not accepted or refused this many hours after it was placed is flagged. Tianjin
    #: reported an average feedback time of 2.68 h [SECONDARY]; 24 h is the normal delivery limit.
    order_response_hours: int = 24
    #: A line not shipped this many days after ordering is voided (作废) and the hospital may buy
    #: from the backup [UNVERIFIED: one province's interface, §1].
    void_after_days: int = 7
    #: A winner × region whose delivery rate (delivered ÷ ordered packs, last `window_days`) is
    #: below this percentage is a supply-failure warning [no national number; provincial setting].
    delivery_rate_floor_pct: int = 90
    #: Receipts left unconfirmed this many days after delivery are flagged (Tianjin: > a week) [§1].
    receipt_unconfirmed_days: int = 7
    #: A distributor whose every logistics step is within this many minutes of the order is
    #: implausibly fast (Tianjin's platform notice) [SECONDARY, §1].
    implausible_minutes: int = 15
    # --- price governance (§2) ------------------------------------------------------------------
    #: Red risk: the listing is above the lowest four-same price elsewhere by more than this
    #: percentage; yellow: above the median elsewhere by more than `price_risk_yellow_pct`
    #: (Guangdong's listing page shows such levels; thresholds are provincial) [SECONDARY, §2].
    price_risk_red_pct: int = 20
    price_risk_yellow_pct: int = 0
    #: Abnormal price change: an increase above this percentage within `price_window_days`;
    #: None = off (no national threshold, vbp-rules.md §8).
    price_max_increase_pct: int | None = None
    price_window_days: int = 180
    #: Non-winners may be listed at most this multiple of the variety's winning price (red line,
    #: batches 8–9, vbp-rules.md §1.7).
    non_winner_red_line_multiple: Decimal = Decimal("1.5")
    # --- use monitoring (§3) --------------------------------------------------------------------
    #: Agreed-volume completion behind 序时进度 (months elapsed ÷ 12) by more than this many
    #: percentage points is flagged [provincial setting; vbp-rules.md §6].
    volume_lag_points: int = 10
    #: A hospital whose non-winner share of a generic exceeds this percentage is flagged. No national
    #: cap was found; Shanghai batch 5 saw about 20 % (S47) [SECONDARY, §3].
    non_winner_share_pct: int = 20
    #: Look-back window of the rate rules (delivery rate, usage share), days.
    window_days: int = 90
    #: Shortage-prone products: a price above the median elsewhere by more than this percentage is
    #: watched [provincial setting; vbp-rules.md §8].
    shortage_price_watch_pct: int = 30
    # --- payment standard (支付标准, vbp-rules.md §1.9) -------------------------------------------
    #: A non-winner priced at or above this multiple of the winning price is paid its own price
    #: less `payment_standard_cut_pct` percent; below it, the winning price (4+7 measures, S23).
    payment_standard_high_multiple: Decimal = Decimal("2")
    payment_standard_cut_pct: int = 30
    #: Which winner of a variety sets its standard when there are several: "lowest" (the published
    #: rule sets one standard per generic name and dosage form, Shanghai batch 11) or "highest".
    payment_standard_base: str = "lowest"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SupervisionSettings:
        """Read `VBP_SUP_<FIELD>` overrides; a bad value raises ValueError naming the variable."""
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            name = f"VBP_SUP_{f.name.upper()}"
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                continue
            raw = raw.strip()
            try:
                if f.name == "payment_standard_base":
                    if raw not in ("lowest", "highest"):
                        raise ValueError
                    value: object = raw
                elif f.name in ("non_winner_red_line_multiple", "payment_standard_high_multiple"):
                    value = Decimal(raw)
                    if not value.is_finite() or value < 1:  # type: ignore[union-attr]
                        raise ValueError
                elif f.name == "price_max_increase_pct" and raw.lower() in ("off", "none"):
                    value = None
                else:
                    value = int(raw)
                    if value < 0 or value > 100_000:
                        raise ValueError
            except (ValueError, InvalidOperation) as exc:
                raise ValueError(f"{name} must be a non-negative number, not {raw!r}") from exc
            if f.name == "payment_standard_cut_pct" and value > 100:  # type: ignore[operator]
                raise ValueError(f"{name} must be a percentage (0–100), not {raw!r}")
            values[f.name] = value
        return cls(**values)  # type: ignore[arg-type]


DEFAULTS = SupervisionSettings()
