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

import re
from decimal import ROUND_HALF_UP, Decimal

#: 1 fen = 0.01 yuan.
FEN = Decimal("0.01")
#: Unit prices: 4 decimals of a yuan.
E4 = Decimal("0.0001")
FEN_PER_YUAN = 100
E4_PER_YUAN = 10_000

__all__ = [
    "E4",
    "FEN",
    "MAX_AMOUNT_FEN",
    "MAX_INTEGER_DIGITS",
    "MoneyError",
    "e4_to_decimal",
    "e4_to_display",
    "e4_to_str",
    "fen_to_decimal",
    "fen_to_display",
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


#: Plain decimal notation: an optional minus, ASCII digits, an optional fraction. No exponent
#: ("1e999999999" overflows, "1e300000" costs seconds of CPU), no "+", no spaces, underscores,
#: separators or full-width digits ("１２.５", "1_000" and " 12" are what Decimal() would accept).
_PLAIN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
#: Integer digits of a money amount: below one trillion yuan, so fen stay far inside 64 bits
#: even summed over a province's year.
MAX_INTEGER_DIGITS = 12
#: The largest amount anything may come to (a line: quantity × pack price), in fen: what the
#: parser would accept as an amount, so sums of amounts stay far inside 64 bits too.
MAX_AMOUNT_FEN = 10 ** (MAX_INTEGER_DIGITS + 2)
#: Longest fraction accepted, trailing zeros included ("14.5000" is 14.50).
MAX_FRACTION_DIGITS = 10


def parse_decimal(
    value: str | int | Decimal, *, places: int, integer_digits: int = MAX_INTEGER_DIGITS
) -> Decimal:
    """Parse an exact decimal in plain notation, at most `integer_digits` before the point and
    `places` (significant) after it; refuse floats, exponents and silent rounding.

    Input with more decimals than allowed is an error, not a rounding: a bid of 14.565 yuan per
    pack is not a valid pack price and the bidder must say which fen they mean. Messages never
    repeat the value (it may be long, or a sealed price).
    """
    if isinstance(value, float | bool):
        raise MoneyError(
            "不接受浮点数，请用十进制字符串 (floats are not accepted for money; send a decimal string)"
        )
    limit = 10**integer_digits
    too_big = MoneyError(
        f"整数部分最多{integer_digits}位 (at most {integer_digits} digits before the decimal point)"
    )
    if isinstance(value, int):
        if abs(value) >= limit:
            raise too_big
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError("须为有限的数 (not a finite number)")
        if value and value.adjusted() >= integer_digits:
            raise too_big
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise _too_many_places(places)
        return value
    if not isinstance(value, str):
        raise MoneyError("须为十进制字符串 (not a decimal string)")
    match = _PLAIN.fullmatch(value) if len(value) <= integer_digits + MAX_FRACTION_DIGITS + 2 else None
    if match is None:
        raise MoneyError(
            "须为普通十进制写法，如 1234.56：不接受科学计数法、全角数字、正号、空格或分隔符 "
            "(plain decimal notation such as 1234.56: "
            "no exponent, full-width digits, '+', spaces or separators)"
        )
    _, whole, fraction = match.groups()
    if len(whole.lstrip("0")) > integer_digits:
        raise too_big
    if fraction and (len(fraction.rstrip("0")) > places or len(fraction) > MAX_FRACTION_DIGITS):
        raise _too_many_places(places)
    return Decimal(value)


def _too_many_places(places: int) -> MoneyError:
    return MoneyError(f"最多{places}位小数 (at most {places} decimal places allowed)")


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


def _grouped(value: int, places: int) -> str:
    """An integer at 10^-places as people read it: thousand separators, exactly `places` decimals,
    a leading minus. Integer arithmetic only (divmod), so nothing is rounded."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"an integer amount is required, not {type(value).__name__}")
    whole, fraction = divmod(abs(value), 10**places)
    return f"{'-' if value < 0 else ''}{whole:,}.{fraction:0{places}d}"


def fen_to_display(fen: int) -> str:
    """Integer fen → yuan for people (pages, PDFs): 123456780 → '1,234,567.80', -123450 →
    '-1,234.50'. Not for form fields, JSON or CSV (those take `fen_to_str`: no separators)."""
    return _grouped(fen, 2)


def e4_to_display(e4: int) -> str:
    """Integer yuan×10⁴ → unit price for people: 12345678 → '1,234.5678'."""
    return _grouped(e4, 4)


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
