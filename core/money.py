"""Exact money: integer fen for amounts, integer yuan×10⁴ for unit prices.

Why integers: SQLite has no decimal type (fractional NUMERIC is stored as REAL), so only integer
sums are exact on both databases. Decimal appears only at the edges (parsing, formatting, and the
few places a ratio is applied), never float.

Scales (shared/domain/vbp-rules.md §0): pack prices and amounts to the fen (2 dp); unit prices per
minimum unit (片/粒/袋/支) to 4 dp, because published ceilings carry 4 decimals (e.g. 112.3267 yuan
per tablet, S15).

Rounding: 四舍五入 = ROUND_HALF_UP (2011 《药品差比价规则》 Art. 19, S45; Hubei quotation rule "报价保留到
小数点后2位…四舍五入", S46). It is written once, in `quantize`, and every rounding goes through it.
A line amount is rounded once; totals are sums of rounded lines and are never re-rounded.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

#: 1 fen = 0.01 yuan.
FEN = Decimal("0.01")
#: Unit prices: 4 decimals of a yuan.
E4 = Decimal("0.0001")
FEN_PER_YUAN = 100
E4_PER_YUAN = 10_000

__all__ = [
    "E4",
    "FEN",
    "MoneyError",
    "e4_to_decimal",
    "e4_to_str",
    "fen_to_decimal",
    "fen_to_str",
    "line_amount_fen",
    "parse_decimal",
    "quantize",
    "to_e4",
    "to_fen",
    "unit_price_e4_from_pack",
]


class MoneyError(ValueError):
    """A value that is not an exact amount at the required scale."""


def quantize(value: Decimal, exp: Decimal) -> Decimal:
    """THE rounding rule: half-up (四舍五入) to the scale of `exp`. See the module docstring."""
    return value.quantize(exp, rounding=ROUND_HALF_UP)


def parse_decimal(value: str | int | Decimal, *, places: int, field: str = "value") -> Decimal:
    """Parse an exact decimal with at most `places` decimals; refuse floats and silent rounding.

    Input with more decimals than allowed is an error, not a rounding: a bid of 14.565 yuan per
    pack is not a valid pack price and the bidder must say which fen they mean.
    """
    if isinstance(value, float | bool):
        raise MoneyError(f"{field}: floats are not accepted for money; send a decimal string")
    try:
        d = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise MoneyError(f"{field}: not a decimal number: {value!r}") from exc
    if not d.is_finite():
        raise MoneyError(f"{field}: not a finite number")
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places and d != d.quantize(Decimal(1).scaleb(-places)):
        raise MoneyError(f"{field}: at most {places} decimal places allowed")
    return d


def to_fen(yuan: Decimal) -> int:
    """Yuan (any precision) → integer fen, rounded half-up once."""
    return int(quantize(yuan, FEN) * FEN_PER_YUAN)


def to_e4(yuan: Decimal) -> int:
    """Yuan per unit (any precision) → integer yuan×10⁴, rounded half-up once."""
    return int(quantize(yuan, E4) * E4_PER_YUAN)


def fen_to_decimal(fen: int) -> Decimal:
    return (Decimal(fen) / FEN_PER_YUAN).quantize(FEN)


def e4_to_decimal(e4: int) -> Decimal:
    return (Decimal(e4) / E4_PER_YUAN).quantize(E4)


def fen_to_str(fen: int) -> str:
    """Integer fen → decimal string in yuan, e.g. 1456 → '14.56' (what JSON carries)."""
    return str(fen_to_decimal(fen))


def e4_to_str(e4: int) -> str:
    """Integer yuan×10⁴ → decimal string, e.g. 5200 → '0.5200'."""
    return str(e4_to_decimal(e4))


def unit_price_e4_from_pack(pack_price_fen: int, units_per_pack: int) -> int:
    """Pack price → price per minimum unit at 4 dp (vbp-rules.md §1.4: pack size is linear).

    E1: 14.56 yuan per box of 28 → 0.5200; 34.46 per 28 → 1.2307.
    """
    if units_per_pack <= 0:
        raise MoneyError("units_per_pack must be positive")
    return to_e4(fen_to_decimal(pack_price_fen) / units_per_pack)


def line_amount_fen(quantity: int, unit_price_fen: int) -> int:
    """Amount of a line priced per pack: exact in integers, no rounding needed."""
    return quantity * unit_price_fen
