"""What a database reader could learn about a sealed bid: every value of every column of every
table of the live schema, searched for the price in any encoding and for the receipt's salt.

The tables and columns are enumerated from the database itself (not from the models), so a table
added without a model, the migration bookkeeping and the idempotency store are read too. A value
is searched as it is, as JSON (both escaped and unescaped), after undoing JSON \\u escapes, and
inside every base64 or hex run it contains (decoded, twice over, so base64 of hex is found).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, MetaData, Table, inspect, select
from sqlalchemy import text as sql_text

#: Runs of base64 (standard and urlsafe alphabets) and of hex digits worth decoding.
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{8,}={0,2}")
_HEX_RUN = re.compile(rb"[0-9A-Fa-f]{8,}")
_UNICODE_ESCAPE = re.compile(r"\\+u([0-9a-fA-F]{4})")


@dataclass(frozen=True)
class Finding:
    table: str
    column: str
    what: str


@dataclass
class Secrets:
    """What must not be found: the price's forms, the salts and unkeyed hashes of requests."""

    #: Integers a column may hold: fen, yuan×10⁴ of the pack and of the unit price.
    numbers: set[int] = field(default_factory=set)
    #: Text forms: "38712.65", "3871265" (fen), ...; matched with no letter or digit around them.
    texts: dict[str, str] = field(default_factory=dict)
    #: Byte strings searched anywhere (raw salt bytes, hex digests of requests), with their label.
    raw: dict[bytes, str] = field(default_factory=dict)

    def add_price(self, pack_fen: int, units_per_pack: int) -> None:
        """Every form of a pack price (integer fen) and of its unit price."""
        pack = Decimal(pack_fen) / 100
        unit = pack / units_per_pack
        pack_e4, unit_e4 = pack_fen * 100, int(unit * 10_000)
        self.numbers |= {pack_fen, pack_e4, unit_e4}
        forms = {str(pack_fen), str(pack_e4), str(unit_e4)}
        for value in (pack, unit):
            for places in range(1, 7):
                text = f"{value:.{places}f}"
                if Decimal(text) == value:
                    forms |= {text, f"{value:,.{places}f}"}
            forms.add(format(value.normalize(), "f"))
        for form in forms:
            self.texts[form] = f"price {form}"
            for algorithm in ("sha256", "sm3"):
                digest = hashlib.new(algorithm, form.encode()).hexdigest()
                self.raw[digest.encode()] = f"{algorithm} of price {form}"

    def add_salt(self, salt: str) -> None:
        self.texts[salt.lower()] = "receipt salt"
        self.texts[salt.upper()] = "receipt salt"
        self.raw[bytes.fromhex(salt)] = "receipt salt (bytes)"

    def add_request(self, method: str, path: str, body: bytes) -> None:
        """Unkeyed digests of a request (what an unkeyed fingerprint would store)."""
        for data in (body, method.encode() + b" " + path.encode() + b"\n" + body):
            for algorithm in ("sha256", "sm3", "sha1", "md5", "sha512"):
                digest = hashlib.new(algorithm, data).hexdigest()
                self.raw[digest.encode()] = f"unkeyed {algorithm} of the request"
                self.raw[digest.upper().encode()] = f"unkeyed {algorithm} of the request"

    def _pattern(self) -> tuple[re.Pattern[bytes], dict[bytes, str]]:
        """One alternation of every secret (longest first) and the label of each match."""
        labels = {text.encode(): label for text, label in self.texts.items()}
        labels |= self.raw
        bounded = [
            rb"(?<![0-9A-Za-z])" + re.escape(text.encode()) + rb"(?![0-9A-Za-z])" for text in self.texts
        ]
        raw = [re.escape(r) for r in self.raw]
        pattern = re.compile(b"|".join(sorted(bounded + raw, key=len, reverse=True)) or b"(?!)")
        return pattern, labels


def _texts_of(value: object) -> Iterator[bytes]:
    """The byte forms a value is searched in."""
    if isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value)
        return
    if isinstance(value, dict | list):
        texts = [json.dumps(value, ensure_ascii=ascii_only, default=str) for ascii_only in (False, True)]
    else:
        texts = [value.isoformat() if isinstance(value, datetime | date) else str(value)]
    for text in texts:
        yield text.encode("utf-8", "replace")
        # JSON \\uXXXX escapes (however many times the backslash itself was escaped), undone.
        unescaped = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        if unescaped != text:
            yield unescaped.encode("utf-8", "replace")


def _decoded(data: bytes, depth: int = 2) -> Iterator[bytes]:
    """`data`, and what its base64 and hex runs decode to (recursively, `depth` levels)."""
    yield data
    if depth == 0:
        return
    for run in _HEX_RUN.findall(data):
        for start in (0, 1):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 2]
            if len(chunk) >= 8:
                yield from _decoded(binascii.unhexlify(chunk), depth - 1)
    for run in _BASE64_RUN.findall(data):
        core = run.rstrip(b"=")
        for start in range(4):
            chunk = core[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4] if len(chunk) % 4 == 1 else chunk
            padded = chunk + b"=" * (-len(chunk) % 4)
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    yield from _decoded(decode(padded), depth - 1)
                except (binascii.Error, ValueError):
                    continue


_reflected: dict[str, MetaData] = {}


def _partitions(connection: Connection) -> set[str]:
    """PostgreSQL's monthly partitions (core/partitions.py): their rows are read through their
    parent table, which is scanned and reported under its own name."""
    if connection.dialect.name != "postgresql":
        return set()
    return set(
        connection.execute(
            sql_text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
            )
        ).scalars()
    )


def _tables(connection: Connection) -> Iterable[Table]:
    """The live schema's tables, and the months archived out of it (schema `archive`), once per
    database: the schema does not change."""
    url = connection.engine.url.render_as_string()
    if url not in _reflected:
        metadata = MetaData()
        metadata.reflect(connection)
        if "archive" in inspect(connection).get_schema_names():
            metadata.reflect(connection, schema="archive")
        _reflected[url] = metadata
    tables = _reflected[url].tables
    live = {name for name, table in tables.items() if table.schema is None}
    assert live == set(inspect(connection).get_table_names()), "the schema changed"
    partitions = _partitions(connection)
    return [tables[name] for name in sorted(tables) if tables[name].name not in partitions]


def columns_in_schema(connection: Connection) -> set[tuple[str, str]]:
    """Every (table, column) of the live schema."""
    return {(table.name, column.name) for table in _tables(connection) for column in table.columns}


def scan(connection: Connection, secrets: Secrets) -> list[Finding]:
    """Every (table, column, what) where a secret is found; [] when the database reveals nothing."""
    pattern, labels = secrets._pattern()
    findings: set[Finding] = set()
    for table in _tables(connection):
        names = [column.name for column in table.columns]
        for row in connection.execute(select(table)):
            for name, value in zip(names, row, strict=True):
                if value is None or isinstance(value, bool):
                    continue
                if isinstance(value, int | Decimal) and value in secrets.numbers:
                    findings.add(Finding(table.name, name, f"price as the number {value}"))
                    continue
                for text in _texts_of(value):
                    for data in _decoded(text):
                        for match in pattern.finditer(data):
                            findings.add(Finding(table.name, name, labels[match.group()]))
    return sorted(findings, key=lambda f: (f.table, f.column, f.what))


def scan_answer(body: bytes, secrets: Secrets) -> list[str]:
    """What an HTTP answer reveals: the body searched as the database's values are (as it is,
    JSON escapes undone, inside base64 and hex runs), and every number in it compared with the
    price's integer forms. [] when the answer reveals nothing."""
    pattern, labels = secrets._pattern()
    found: set[str] = set()
    text = body.decode("utf-8", "replace")
    for form in _texts_of(text):
        for data in _decoded(form):
            found |= {labels[m.group()] for m in pattern.finditer(data)}
    for number in re.findall(r"(?<![\d.])\d+(?![\d.])", text):
        if int(number) in secrets.numbers:
            found.add(f"price as the number {number}")
    return sorted(found)
