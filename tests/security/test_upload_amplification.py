"""Uploads cannot be amplified: a small xlsx that unpacks to a huge part, a shared string or cell of
megabytes, a zip whose headers lie about sizes, or a CSV with an endless cell is refused with a
short 4xx body, and the hostile ones before the workbook is parsed at all. Error messages echo at
most a short prefix of what was sent. The limits are settings."""

from __future__ import annotations

import base64
import html
import io
import os
import re
import struct
import zipfile
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.config import Config
from core.actors import OrgKind, Role
from core.spreadsheets import Column, SpreadsheetError, SpreadsheetLimits, read_table
from tests.factories import bearer, make_org, make_user

HEADERS = ["挂网ID", "数量", "配送企业ID"]
#: What an error body may weigh, whatever was uploaded.
SHORT = 4000


def _workbook(first_header: str = HEADERS[0], data_cell: str | int = 5) -> bytes:
    """A small xlsx whose text cells are shared strings, as Excel writes them."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([first_header, *HEADERS[1:]])
    sheet.append([1, data_cell, 1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _to_shared_strings(buffer.getvalue())


_INLINE = re.compile(rb'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>(.*?)</t></is></c>', re.DOTALL)


def _to_shared_strings(data: bytes) -> bytes:
    """openpyxl writes inline strings; move them to a shared-string table."""
    texts: list[bytes] = []

    def shared(match: re.Match[bytes]) -> bytes:
        # With lxml installed openpyxl writes non-ASCII text as character references (&#25346;);
        # the table holds it as UTF-8, as Excel writes it, so the tests can find their text.
        texts.append(escape(html.unescape(match.group(2).decode())).encode())
        return b'<c r="%s" t="s"><v>%d</v></c>' % (match.group(1), len(texts) - 1)

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    parts["xl/worksheets/sheet1.xml"] = _INLINE.sub(shared, parts["xl/worksheets/sheet1.xml"])
    parts["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
        % (len(texts), len(texts))
        + b"".join(b"<si><t>" + text + b"</t></si>" for text in texts)
        + b"</sst>"
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdSST" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/sharedStrings"/></Relationships>',
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return out.getvalue()


def _replace_part(data: bytes, name: str, edit: Callable[[bytes], bytes]) -> bytes:
    """The same xlsx with one part rewritten (deflated, as Excel would)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, edit(content) if info.filename == name else content)
    return out.getvalue()


def _huge_shared_string(text: bytes, replacing: str = HEADERS[0], **cells: Any) -> bytes:
    """A workbook in which the shared string `replacing` (the first header cell) is `text`
    (written into the part: openpyxl itself would cut a cell at 32,767 characters)."""
    return _replace_part(
        _workbook(**cells),
        "xl/sharedStrings.xml",
        lambda xml: xml.replace(replacing.encode(), text, 1),
    )


def _lying_sizes(data: bytes, name: str, declared: int) -> bytes:
    """A zip whose headers declare `declared` bytes for a part that unpacks to more."""
    patched = bytearray(data)
    encoded = name.encode()
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := patched.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if patched[name_at : name_at + len(encoded)] == encoded:
                patched[start + size_at : start + size_at + 4] = struct.pack("<I", declared)
            start += 4
    return bytes(patched)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every time the workbook reaches openpyxl's parser (a hostile one must not)."""
    calls: list[object] = []
    real = openpyxl.load_workbook

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    return calls


def _upload(client: FlaskClient, session: Session, data: bytes, name: str = "orders.xlsx") -> Any:
    hospital = bearer(session, make_user(session, make_org(session, OrgKind.HOSPITAL), Role.OPERATOR))
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=name)})
    return client.post(
        "/api/v1/orders/upload",
        data=body,
        headers=hospital,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.get_data()[:500]
    assert len(response.get_data()) < SHORT
    body = response.get_json()["error"]
    # The whole file refused (spreadsheet_invalid), or rows reported with the order's own checks.
    assert body["code"] in ("spreadsheet_invalid", "validation_failed")
    return body


def _refused_file(response: Any) -> dict[str, Any]:
    body = _refused(response)
    assert (body["code"], list(body["fields"])) == ("spreadsheet_invalid", ["file"])
    return body


def test_a_100_mb_shared_string_in_a_small_xlsx_is_refused_before_parsing(
    client: FlaskClient, session: Session, parses: list[object]
) -> None:
    data = _huge_shared_string(b"A" * (100 * 1024 * 1024))
    assert len(data) < 300 * 1024  # small on disk
    body = _refused_file(_upload(client, session, data))
    assert parses == []
    assert "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" not in str(body)  # never echoed past a prefix


def test_a_megabyte_shared_string_that_compresses_badly_is_refused_before_parsing(
    client: FlaskClient, session: Session, parses: list[object]
) -> None:
    text = base64.b64encode(os.urandom(3 * 1024 * 1024 // 4)).replace(b"+", b"x").replace(b"/", b"y")
    data = _huge_shared_string(text)
    body = _refused_file(_upload(client, session, data))
    assert parses == []
    assert text[:50].decode() not in str(body)


def test_a_part_whose_zip_headers_lie_about_its_size_is_refused_before_parsing(
    client: FlaskClient, session: Session, parses: list[object]
) -> None:
    data = _lying_sizes(_huge_shared_string(b"B" * (8 * 1024 * 1024)), "xl/sharedStrings.xml", 600)
    _refused_file(_upload(client, session, data))
    assert parses == []


def test_a_sheet_that_unpacks_far_beyond_its_size_is_refused_before_parsing(
    client: FlaskClient, session: Session, parses: list[object]
) -> None:
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    data = _replace_part(
        _workbook(),
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"</sheetData>", row * 400_000 + b"</sheetData>"),
    )
    _refused_file(_upload(client, session, data))
    assert parses == []


def test_a_cell_longer_than_excel_allows_is_refused_naming_it_with_a_short_prefix(
    client: FlaskClient, session: Session
) -> None:
    long_text = "长" * 40_000
    data = _huge_shared_string(long_text.encode(), replacing="QTY", data_cell="QTY")
    body = _refused(_upload(client, session, data))
    assert list(body["fields"]) == ["row 2.quantity"]
    (message,) = body["fields"]["row 2.quantity"]
    assert "长" * 40 + "…" in message
    assert "长" * 41 not in message


def test_an_unknown_header_is_echoed_only_as_a_short_prefix(client: FlaskClient, session: Session) -> None:
    header = "未知列" * 3000
    body = _refused(_upload(client, session, _workbook(first_header=header)))
    text = str(body)
    assert header[:40] + "…" in text
    assert header[:41] not in text


def test_a_csv_with_an_endless_cell_is_refused_with_a_short_body(
    client: FlaskClient, session: Session
) -> None:
    csv = ("挂网ID,数量,配送企业ID\n1," + "9" * 100_000 + ",1\n").encode()
    body = _refused(_upload(client, session, csv, name="orders.csv"))
    assert list(body["fields"]) == ["row 2.quantity"]


def test_an_unsupported_file_name_is_echoed_only_as_a_short_prefix(
    client: FlaskClient, session: Session
) -> None:
    response = _upload(client, session, b"x", name="报表" * 500 + ".pdf")
    body = _refused(response)
    assert "报表" * 20 + "…" in str(body)
    assert "报表" * 21 not in str(body)


def test_the_upload_limits_are_settings() -> None:
    config = Config.from_env(
        {
            "VBP_UPLOAD_MAX_BYTES": "1048576",
            "VBP_UPLOAD_MAX_UNPACKED_BYTES": "8388608",
            "VBP_UPLOAD_MAX_COMPRESSION_RATIO": "50",
            "VBP_UPLOAD_MAX_CELL_CHARS": "1000",
        }
    )
    assert config.spreadsheet_limits() == SpreadsheetLimits(
        max_bytes=1024 * 1024,
        max_unpacked_bytes=8 * 1024 * 1024,
        max_compression_ratio=50,
        max_cell_chars=1000,
    )
    defaults = Config().spreadsheet_limits()
    assert (defaults.max_cell_chars, defaults.max_compression_ratio) == (32_767, 100)


def test_the_app_reads_uploads_with_its_configured_limits(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.config["VBP"], "upload_max_cell_chars", 6)  # the longest header: 配送企业ID
    body = _refused(_upload(client, session, _workbook(data_cell="1234567")))
    assert list(body["fields"]) == ["row 2.quantity"]


@pytest.mark.parametrize("limit", [0, -1])
def test_limits_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        SpreadsheetLimits(max_cell_chars=limit)


def test_a_normal_workbook_still_reads(parses: list[object]) -> None:
    columns = [
        Column("listing_id", ("挂网ID",)),
        Column("quantity", ("数量",)),
        Column("distributor_id", ("配送企业ID",)),
    ]
    table = read_table(_workbook(), filename="o.xlsx", columns=columns)
    assert [row.values for row in table.rows] == [{"listing_id": "1", "quantity": "5", "distributor_id": "1"}]
    assert len(parses) == 1
    with pytest.raises(SpreadsheetError, match=re.escape("32767")):
        read_table(
            _huge_shared_string(b"x" * 32_768, replacing="QTY", data_cell="QTY"),
            filename="o.xlsx",
            columns=columns,
        )


def test_a_workbook_declaring_entities_is_refused_before_parsing(
    client: FlaskClient, session: Session, parses: list[object]
) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "hahahahahahahahahaha">'
        + b"".join(
            b'<!ENTITY %s "%s">' % (b"b" * n, b"&" + b"b" * (n - 1) + b";" if n > 1 else b"&a;") * 10
            for n in range(1, 10)
        )
        + b"]>"
    )
    data = _replace_part(_workbook(), "xl/sharedStrings.xml", lambda xml: laughs + xml.split(b"?>", 1)[1])
    _refused_file(_upload(client, session, data))
    assert parses == []


def test_parts_parsed_whole_have_their_own_bounds(parses: list[object]) -> None:
    columns = [
        Column("listing_id", ("挂网ID",)),
        Column("quantity", ("数量",)),
        Column("distributor_id", ("配送企业ID",)),
    ]
    small = SpreadsheetLimits(max_other_part_bytes=64 * 1024, max_shared_strings_bytes=4096)
    styles = _replace_part(_workbook(), "xl/styles.xml", lambda xml: xml + b" " * 65 * 1024)
    with pytest.raises(SpreadsheetError, match=re.escape("styles.xml")):
        read_table(styles, filename="o.xlsx", columns=columns, limits=small)
    strings = _huge_shared_string("挂网ID".encode() + b" " * 8192)
    with pytest.raises(SpreadsheetError, match=re.escape("sharedStrings.xml")):
        read_table(strings, filename="o.xlsx", columns=columns, limits=small)
    assert parses == []
