"""Executing a national batch's results in this province (issue 22, item 1): a results file with
10 items and 3 provinces imports, this province's hospitals report demand, and the agreed volumes
equal a hand computation; a bad row imports nothing and is named."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bidding import opening, results_import
from bidding.models import (
    Award,
    BatchStatus,
    ProcurementBatch,
    Product,
    RegionAssignment,
    Scope,
    SelectionSource,
    VolumeAllocation,
)
from core.errors import Conflict, InvalidState, RuleViolation, ValidationFailed
from ledger.services import listings
from tests.national import (
    IMPORTED_AT,
    Platform,
    csv_bytes,
    json_bytes,
    new_platform,
    xlsx_bytes,
)

PROVINCES = ["510000", "500000", "530000"]
WINNERS_PER_ITEM = [1, 2, 3, 4, 2, 3, 4, 1, 2, 3]
RATIO_TEXT = {1: "0.5", 2: "60%", 3: "0.7", 4: "80%"}
MAKERS = "ABCDE"

#: Agreed volumes by hand (item, hospital, winner). Demand per item n: H1 1000n+333 and H2 777n+1
#: in 成都 (510100), H3 505n+2 in 绵阳 (510700); H3 also names winner D of item 2 (4001 units), H2
#: names a product that did not win for item 7 (999, so to the primary). Per region: ratio × base
#: rounded half-up once, shared by largest remainder. E.g. item 8 (one winner, 50 %), 成都: base
#: 8333 + 6217 = 14550 → 7275; floors 4166 + 3108 = 7274; the one left goes to H1 (tie, first key).
#: Item 2 (60 %), 绵阳: 0.6 × (1012 + 4001) = 3007.8 → 3008; floors 607 + 2400; D's .6 beats .2.
EXPECTED = {
    (1, "H1", "B"): 667, (1, "H2", "B"): 389, (1, "H3", "B"): 254,
    (2, "H1", "C"): 1400, (2, "H2", "C"): 933, (2, "H3", "C"): 607, (2, "H3", "D"): 2401,
    (3, "H1", "D"): 2333, (3, "H2", "D"): 1633, (3, "H3", "D"): 1062,
    (4, "H1", "E"): 3467, (4, "H2", "E"): 2487, (4, "H3", "E"): 1618,
    (5, "H1", "B"): 3200, (5, "H2", "B"): 2331, (5, "H3", "B"): 1516,
    (6, "H1", "B"): 4433, (6, "H2", "B"): 3264, (6, "H3", "B"): 2122,
    (7, "H1", "A"): 5867, (7, "H2", "A"): 5151, (7, "H3", "A"): 2830,
    (8, "H1", "D"): 4167, (8, "H2", "D"): 3108, (8, "H3", "D"): 2021,
    (9, "H1", "A"): 5600, (9, "H2", "A"): 4196, (9, "H3", "A"): 2728,
    (10, "H1", "B"): 7233, (10, "H2", "B"): 5440, (10, "H3", "B"): 3536,
}  # fmt: skip


def makers_of(n: int) -> list[str]:
    return [MAKERS[(n + j) % 5] for j in range(WINNERS_PER_ITEM[n - 1])]


def national_rows(p: Platform) -> list[dict[str, str]]:
    """10 items; winners rotate over makers A–E; province k's primary is winner (k + n) mod w and
    its backup the next one."""
    rows = []
    for n in range(1, 11):
        makers = makers_of(n)
        w = len(makers)
        item = {
            "item_no": f"{n:02d}",
            "generic_name": f"落地药{n:02d}",
            "dosage_form_group": "oral_solid",
            "rep_strength_value": "10",
            "rep_strength_unit": "mg",
            "ratio_kind": "content",
            "allowed_strengths": "5|10|20",
            "ceiling": "3.0000",
            "volume_ratio": RATIO_TEXT[w],
        }
        for j, maker in enumerate(makers):
            product = p.product(maker, f"XN{n:02d}{maker}", f"落地药{n:02d}")
            winner = {
                "winner_uscc": p.manufacturer(maker).uscc,
                "winner_name": p.manufacturer(maker).name,
                "product_code": product.code,
                "winning_pack_price": f"{100 + 10 * j + n}.50",
                "rank": str(j + 1),
            }
            supply = [(prov, "primary") for k, prov in enumerate(PROVINCES) if (k + n) % w == j]
            if w > 1:
                supply += [(prov, "备供") for k, prov in enumerate(PROVINCES) if (k + n + 1) % w == j]
            for province, role in supply or [("", "")]:
                rows.append({**item, **winner, "province_code": province, "supply_role": role})
    rows[0].update(
        batch_name="第十一批国家组织药品集采（落地）",
        scope="national",
        category="drug",
        rule_version="batch_11",
        reference="GY-YD2025-1",
        issuer="国家组织药品联合采购办公室",
        cycle_start_on="2027-01-01",
        cycle_end_on="2028-12-31",
    )
    return rows


@pytest.fixture
def platform(session):
    p = new_platform(session)
    # A non-winning product of item 7's variety, named by H2.
    p.product("F", "XN07F", "落地药07")
    return p


def run(p: Platform, data: bytes, filename: str) -> ProcurementBatch:
    summary = p.import_file(data, filename)
    batch = summary.batch
    assert (summary.items, summary.winners) == (10, sum(WINNERS_PER_ITEM))
    p.open_demand(batch.id)
    items = {i.generic_name: i for i in batch.items}
    h1, h2 = p.hospital("H1", "510104"), p.hospital("H2", "510105")
    h3 = p.hospital("H3", "510700")
    for n in range(1, 11):
        item = items[f"落地药{n:02d}"]
        p.report(h1, batch.id, item.id, 1000 * n + 333)
        p.report(h2, batch.id, item.id, 777 * n + 1)
        p.report(h3, batch.id, item.id, 505 * n + 2)
    brand_d = p.session.scalar(select(Product.id).where(Product.code == "XN02D"))
    p.report(h3, batch.id, items["落地药02"].id, 4001, brand=brand_d)
    f_product = p.session.scalar(select(Product.id).where(Product.code == "XN07F"))
    p.report(h2, batch.id, items["落地药07"].id, 999, brand=f_product)
    return batch


def agreed(p: Platform, batch: ProcurementBatch) -> dict[tuple[int, str, str], int]:
    names = {org.id: key for key, org in p.hospitals.items()}
    makers = {org.id: key for key, org in p.manufacturers.items()}
    items = {i.id: int(i.generic_name[-2:]) for i in batch.items}
    rows = p.session.execute(
        select(
            VolumeAllocation.item_id,
            VolumeAllocation.hospital_id,
            Award.manufacturer_id,
            VolumeAllocation.agreed_quantity,
        )
        .join(Award, Award.id == VolumeAllocation.award_id)
        .where(VolumeAllocation.batch_id == batch.id)
    )
    return {(items[i], names[h], makers[m]): q for i, h, m, q in rows}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_a_national_results_file_executes_to_the_hand_computed_agreed_volumes(platform, fmt):
    data = {"csv": csv_bytes, "xlsx": xlsx_bytes, "json": json_bytes}[fmt](national_rows(platform))
    batch = run(platform, data, f"国家第十一批中选结果.{fmt}")
    summary = platform.execute(batch.id)

    assert agreed(platform, batch) == EXPECTED
    assert summary.agreed_quantity == sum(EXPECTED.values())
    assert batch.status is BatchStatus.RESULTS_PUBLISHED
    assert (batch.scope, batch.selection) == (Scope.NATIONAL, SelectionSource.IMPORTED)
    assert batch.opened_at is None  # never opened here
    # Only this province's supply becomes assignments: one primary per item, backups where w > 1.
    kinds = platform.session.execute(
        select(RegionAssignment.region_code, RegionAssignment.kind, func.count())
        .join(Award, Award.id == RegionAssignment.award_id)
        .where(Award.batch_id == batch.id)
        .group_by(RegionAssignment.region_code, RegionAssignment.kind)
    ).all()
    assert sorted(kinds) == [("510000", "backup", 8), ("510000", "primary", 10)]
    # Listings follow as for a local batch: every winner supplying the province, at its price.
    created = listings.create_vbp_listings(platform.session, platform.bureau, batch.id, now=IMPORTED_AT)
    # 10 primary + 8 backup in the province, and D where H3 named it (绵阳, item 2).
    assert len(created) == 18 + 1
    source = batch.results_source
    assert source["reference"] == "GY-YD2025-1"
    assert len(source["sha256"]) == 64
    assert source["content"]["items"][0]["generic_name"] == "落地药01"


def test_rederive_says_selection_was_not_done_here(platform):
    batch = run(platform, csv_bytes(national_rows(platform)), "r.csv")
    platform.execute(batch.id)
    report = results_import.rederive_batch(platform.session, batch.id)
    assert not report.selected_here
    assert "不在本平台" in report.statement
    assert "GY-YD2025-1" in report.statement
    with pytest.raises(RuleViolation) as caught:
        opening.rederive_item(platform.session, batch.items[0].id)
    assert caught.value.code == "selected_elsewhere"


@pytest.mark.parametrize(
    ("row", "change", "field", "words"),
    [
        (3, {"product_code": "NO-SUCH-CODE"}, "product_code", "no product"),
        (5, {"winner_uscc": "91510000MA00000000"}, "winner_uscc", "no manufacturer"),
        (7, {"winning_pack_price": ""}, "winning_pack_price", "winning price"),
        (8, {"province_code": "990000"}, "province_code", "province"),
        (9, {"volume_ratio": "1.2"}, "volume_ratio", "(0, 1]"),
        (10, {"winning_pack_price": "301.00"}, "winning_pack_price", "ceiling"),
    ],
)
def test_one_bad_row_imports_nothing_and_is_named(platform, row, change, field, words):
    rows = national_rows(platform)
    target = rows[row - 2]  # row 1 is the header
    # A blank cell repeats the one above, so a winner's (or an item's) value is changed on all of
    # its rows; the error names the first of them.
    group = ("item_no",) if field == "volume_ratio" else ("item_no", "winner_uscc")
    if field in ("volume_ratio", "winning_pack_price", "product_code"):
        key = tuple(target[k] for k in group)
        rows = [r | change if tuple(r[k] for k in group) == key else r for r in rows]
        row = next(n for n, r in enumerate(rows, start=2) if tuple(r[k] for k in group) == key)
    else:
        target.update(change)
    before = platform.session.scalar(select(func.count()).select_from(ProcurementBatch))
    with pytest.raises(ValidationFailed) as caught:
        platform.import_file(csv_bytes(rows), "bad.csv")
    fields = caught.value.fields
    assert f"row {row}.{field}" in fields, fields
    assert any(words in m for m in fields[f"row {row}.{field}"]), fields
    assert platform.session.scalar(select(func.count()).select_from(ProcurementBatch)) == before


def test_the_same_file_twice_is_a_conflict_and_execution_waits_for_demand_to_close(platform):
    data = csv_bytes(national_rows(platform))
    batch = platform.import_file(data, "a.csv").batch
    with pytest.raises(Conflict):
        platform.import_file(data, "again.csv")
    platform.open_demand(batch.id)
    with pytest.raises(RuleViolation):
        results_import.execute_results(platform.session, platform.bureau, batch.id, now=IMPORTED_AT)
    from bidding import batches

    with pytest.raises(InvalidState):  # imported results skip bidding
        batches.transition(
            platform.session, platform.bureau, batch.id, to=BatchStatus.BIDDING, now=IMPORTED_AT
        )


def test_a_bad_json_winner_is_named_by_its_path_and_hostile_files_are_refused(platform):
    rows = national_rows(platform)
    doc = json.loads(json_bytes(rows))
    doc["items"][3]["winners"][1]["winning_pack_price"] = "-1"
    with pytest.raises(ValidationFailed) as caught:
        platform.import_file(json.dumps(doc).encode(), "r.json")
    assert set(caught.value.fields) == {"items[3].winners[1].winning_pack_price"}
    hostile = {
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "not-json.json": b"\xff\xfe{",
        "empty.csv": b"",
        "long.csv": csv_bytes([{**r, "batch_name": "批" * 201} for r in rows]),
        "rank.csv": csv_bytes([{**r, "rank": "99999999999"} for r in rows]),
    }
    for name, data in hostile.items():
        with pytest.raises(ValidationFailed) as caught:
            platform.import_file(data, name)
        assert caught.value.fields, name


def test_a_blank_ratio_takes_the_rule_sets_ratio_for_the_number_of_winners(platform):
    rows = [r | {"volume_ratio": ""} for r in national_rows(platform)]
    batch = run(platform, csv_bytes(rows), "no-ratio.csv")
    platform.execute(batch.id)
    # batch_11's table (vbp-rules.md §1.6): 1 winner 50 %, 2 → 60 %, 3 → 70 %, ≥ 4 → 80 %: the same
    # ratios the file gave, so the same hand figures.
    assert agreed(platform, batch) == EXPECTED
