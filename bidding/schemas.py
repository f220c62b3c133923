"""Marshmallow schemas for tendering (HTTP, CLI and spreadsheet import validate with the same rules)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from bidding.models import (
    BatchStatus,
    BidStatus,
    Category,
    DosageFormGroup,
    RatioKind,
    Scope,
    SelectionSource,
)
from core.national_codes import MAX_LENGTH
from core.validation import BaseSchema, Ratio, UnitPrice, Yuan

#: Strengths and volumes: plain ASCII decimals of bounded length ("\d" would admit "１０").
_decimal_text = validate.Regexp(
    r"\A[0-9]{1,9}(\.[0-9]{1,6})?\Z", error="须为十进制数字 (decimal number, e.g. 20 or 0.25)"
)
_name = validate.Length(min=1, max=200)


class ProductCreateSchema(BaseSchema):
    category = fields.Enum(Category, by_value=True, required=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    generic_name = fields.String(required=True, validate=_name)
    dosage_form = fields.String(required=True, validate=validate.Length(min=1, max=50))
    dosage_form_group = fields.Enum(DosageFormGroup, by_value=True, required=True)
    strength_value = fields.String(required=True, validate=_decimal_text)
    strength_unit = fields.String(required=True, validate=validate.Length(min=1, max=20))
    fill_volume_ml = fields.String(load_default=None, allow_none=True, validate=_decimal_text)
    spec_text = fields.String(required=True, validate=validate.Length(min=1, max=100))
    min_unit = fields.String(required=True, validate=validate.Length(min=1, max=10))
    units_per_pack = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000))
    mah_uscc = fields.String(required=True, validate=validate.Length(equal=18))
    originator = fields.Boolean(load_default=False)
    reference_listed = fields.Boolean(load_default=False)
    consistency_evaluated = fields.Boolean(load_default=False)
    registration_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    attributes = fields.Dict(load_default=None, allow_none=True, keys=fields.String(), values=fields.String())
    national_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_LENGTH),
        metadata={"description": "国家医保药品编码 (23; formula granules 20, T…) or 医保耗材编码 (27)"},
    )


class NationalCodeSetSchema(BaseSchema):
    national_code = fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH))


class ProductSchema(BaseSchema):
    id = fields.Integer()
    category = fields.Enum(Category, by_value=True)
    code = fields.String()
    generic_name = fields.String()
    dosage_form = fields.String()
    dosage_form_group = fields.Enum(DosageFormGroup, by_value=True)
    strength_value = fields.String()
    strength_unit = fields.String()
    fill_volume_ml = fields.String(allow_none=True)
    spec_text = fields.String()
    min_unit = fields.String()
    units_per_pack = fields.Integer()
    mah_id = fields.Integer()
    originator = fields.Boolean()
    reference_listed = fields.Boolean()
    consistency_evaluated = fields.Boolean()
    registration_no = fields.String(allow_none=True)
    attributes = fields.Dict(allow_none=True)
    active = fields.Boolean()
    national_code = fields.String(allow_none=True)


class ProductQuerySchema(BaseSchema):
    category = fields.Enum(Category, by_value=True)
    generic_name = fields.String()
    mah_id = fields.Integer()
    national_code = fields.String(
        validate=validate.Length(min=1, max=MAX_LENGTH), metadata={"description": "exact national code"}
    )
    national_code_prefix = fields.String(
        validate=validate.Length(min=1, max=MAX_LENGTH), metadata={"description": "national code prefix"}
    )
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "name, catalogue code (contains) or national code (prefix)"},
    )


class ExportQuerySchema(BaseSchema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv", "json"]))


class TimelineSchema(BaseSchema):
    @staticmethod
    def timeline_fields() -> tuple[str, ...]:
        return (
            "demand_opens_at",
            "demand_closes_at",
            "bid_opens_at",
            "bid_closes_at",
            "opening_at",
            "cycle_start_on",
            "cycle_end_on",
        )

    demand_opens_at = fields.AwareDateTime(required=True)
    demand_closes_at = fields.AwareDateTime(required=True)
    bid_opens_at = fields.AwareDateTime(required=True)
    bid_closes_at = fields.AwareDateTime(required=True)
    opening_at = fields.AwareDateTime(required=True)
    cycle_start_on = fields.Date(required=True)
    cycle_end_on = fields.Date(required=True)


class BatchCreateSchema(TimelineSchema):
    name = fields.String(required=True, validate=_name)
    category = fields.Enum(Category, by_value=True, required=True)
    scope = fields.Enum(Scope, by_value=True, load_default=Scope.PROVINCIAL)
    rule_version = fields.String(required=True, metadata={"description": "batch_4_9 | batch_10 | batch_11"})
    rule_overrides = fields.Dict(
        keys=fields.String(),
        load_default=None,
        allow_none=True,
        metadata={"description": "Rule parameters to change from the preset"},
    )


class RulesUpdateSchema(BaseSchema):
    rule_overrides = fields.Dict(keys=fields.String(), required=True)


class BatchSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    category = fields.Enum(Category, by_value=True)
    scope = fields.Enum(Scope, by_value=True)
    status = fields.Enum(BatchStatus, by_value=True)
    rule_version = fields.String()
    rules = fields.Dict()
    demand_opens_at = fields.DateTime()
    demand_closes_at = fields.DateTime()
    bid_opens_at = fields.DateTime()
    bid_closes_at = fields.DateTime()
    opening_at = fields.DateTime()
    cycle_start_on = fields.Date()
    cycle_end_on = fields.Date()
    opened_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    selection = fields.Enum(
        SelectionSource,
        by_value=True,
        metadata={"description": "local: selected here; imported: decided elsewhere"},
    )
    results_source = fields.Method("_results_source", allow_none=True)
    member_provinces = fields.List(fields.String(), allow_none=True)

    @staticmethod
    def _results_source(batch: Any) -> dict[str, Any] | None:
        """Where imported results came from (the stored file itself is served by its own route)."""
        source = batch.results_source
        return None if source is None else {k: v for k, v in source.items() if k != "content"}


class TransitionSchema(BaseSchema):
    to = fields.Enum(BatchStatus, by_value=True, required=True)


class ItemCreateSchema(BaseSchema):
    generic_name = fields.String(required=True, validate=_name)
    dosage_form_group = fields.Enum(DosageFormGroup, by_value=True, required=True)
    rep_strength_value = fields.String(required=True, validate=_decimal_text)
    rep_strength_unit = fields.String(required=True, validate=validate.Length(min=1, max=20))
    ratio_kind = fields.Enum(RatioKind, by_value=True, load_default=RatioKind.CONTENT)
    allowed_strengths = fields.List(fields.String(validate=_decimal_text), load_default=list)
    ceiling_price = UnitPrice(
        required=True,
        data_key="ceiling_price",
        attribute="ceiling_e4",
        metadata={"description": "最高有效申报价 per minimum unit, 4 dp"},
    )
    volume_ratio_override = Ratio(load_default=None, allow_none=True)
    pre_vbp_price = UnitPrice(
        load_default=None,
        allow_none=True,
        attribute="pre_vbp_unit_price_e4",
        metadata={"description": "average unit price before VBP (the retained-savings budget base)"},
    )
    lot_attributes = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=None, allow_none=True
    )

    @validates_schema
    def _positive(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("ceiling_e4", 1) <= 0:
            raise ValidationError({"ceiling_price": ["须大于0 (must be positive)"]})


class ItemSchema(BaseSchema):
    id = fields.Integer()
    batch_id = fields.Integer()
    generic_name = fields.String()
    dosage_form_group = fields.Enum(DosageFormGroup, by_value=True)
    rep_strength_value = fields.String()
    rep_strength_unit = fields.String()
    ratio_kind = fields.Enum(RatioKind, by_value=True)
    allowed_strengths = fields.List(fields.String())
    ceiling_price = UnitPrice(attribute="ceiling_e4")
    volume_ratio_override = fields.String(allow_none=True)
    pre_vbp_price = UnitPrice(attribute="pre_vbp_unit_price_e4", allow_none=True)
    lot_attributes = fields.Dict(allow_none=True)


class DemandLineSchema(BaseSchema):
    item_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=10**12),
        metadata={"description": "annual quantity in minimum units (片/粒/支)"},
    )
    region_code = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{6}$"))
    brand_product_id = fields.Integer(load_default=None, allow_none=True, strict=True)


class DemandReportSchema(BaseSchema):
    lines = fields.List(
        fields.Nested(DemandLineSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class DemandSchema(BaseSchema):
    id = fields.Integer()
    item_id = fields.Integer()
    hospital_id = fields.Integer()
    region_code = fields.String()
    brand_product_id = fields.Integer(allow_none=True)
    quantity = fields.Integer()
    reported_at = fields.DateTime()


class DemandTotalSchema(BaseSchema):
    item_id = fields.Integer()
    generic_name = fields.String()
    region_code = fields.String()
    hospitals = fields.Integer()
    quantity = fields.Integer()
    brand_specific_quantity = fields.Integer()


class BidSubmitSchema(BaseSchema):
    item_id = fields.Integer(required=True, strict=True)
    product_id = fields.Integer(required=True, strict=True)
    pack_price = Yuan(required=True, metadata={"description": "price per pack in yuan, 2 dp"})
    accepts_revival = fields.Boolean(
        load_default=True,
        metadata={
            "description": "accept a revival price if offered (batch 10/11 复活), declared with the bid"
        },
    )


class BidSchema(BaseSchema):
    """A bid record: never carries a price (prices appear only in opened results)."""

    id = fields.Integer()
    public_id = fields.String()
    batch_id = fields.Integer()
    item_id = fields.Integer()
    manufacturer_id = fields.Integer()
    product_id = fields.Integer()
    status = fields.Enum(BidStatus, by_value=True)
    accepts_revival = fields.Boolean()
    digest = fields.String()
    suite = fields.String(
        metadata={"description": "suite that sealed the bid and made its digest: standard or sm"}
    )
    submitted_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)


class ReceiptSchema(BaseSchema):
    bid = fields.Nested(BidSchema)
    digest = fields.String()
    suite = fields.String(metadata={"description": "standard (SHA-256 digest) or sm (SM3 digest)"})
    digest_algorithm = fields.String(metadata={"description": "SHA-256 or SM3"})
    salt = fields.String(
        metadata={"description": "keep it: with your price it reproduces the digest after opening"}
    )


class BidResultSchema(BaseSchema):
    bid_id = fields.Integer()
    item_id = fields.Integer()
    manufacturer_id = fields.Integer()
    pack_price = Yuan(attribute="pack_price_fen")
    unit_price = UnitPrice(attribute="unit_price_e4")
    ratio_k = fields.String()
    comparable_price = UnitPrice(attribute="comparable_e4")
    valid = fields.Boolean()
    invalid_reason = fields.String(allow_none=True)
    rank = fields.Integer(allow_none=True)
    shortlisted = fields.Boolean()
    won = fields.Boolean()
    route = fields.String(allow_none=True)
    tie_breaker = fields.String(allow_none=True)
    reason = fields.String()
    digest = fields.String()


class AwardSchema(BaseSchema):
    id = fields.Integer()
    item_id = fields.Integer()
    manufacturer_id = fields.Integer()
    manufacturer_name = fields.String(attribute="manufacturer.name")
    product_id = fields.Integer()
    rank = fields.Integer()
    route = fields.String()
    comparable_price = UnitPrice(attribute="comparable_e4")
    unit_price = UnitPrice(attribute="unit_price_e4")
    pack_price = Yuan(attribute="pack_price_fen")
    picks_regions = fields.Boolean()


class ItemResultSchema(BaseSchema):
    item_id = fields.Integer()
    eligible_bidders = fields.Integer()
    max_shortlisted = fields.Integer()
    lowest_price = UnitPrice(attribute="lowest_e4", allow_none=True)
    anchor_price = UnitPrice(attribute="anchor_e4", allow_none=True)
    fuse_line = UnitPrice(attribute="fuse_line_e4", allow_none=True)
    revival_price = UnitPrice(attribute="revival_price_e4", allow_none=True)
    winner_count = fields.Integer()
    volume_ratio = fields.String(allow_none=True)


class ResultsSchema(BaseSchema):
    batch_id = fields.Integer()
    status = fields.String()
    items = fields.List(fields.Nested(ItemResultSchema))
    awards = fields.List(fields.Nested(AwardSchema))
    bids = fields.List(
        fields.Nested(BidResultSchema),
        metadata={"description": "opening record: all bids for the bureau, own bids for a manufacturer"},
    )


class AllocationSchema(BaseSchema):
    id = fields.Integer()
    item_id = fields.Integer()
    hospital_id = fields.Integer()
    region_code = fields.String()
    award_id = fields.Integer()
    manufacturer_id = fields.Integer(attribute="award.manufacturer_id")
    product_id = fields.Integer(attribute="award.product_id")
    pack_price = Yuan(attribute="award.pack_price_fen")
    unit_price = UnitPrice(attribute="award.unit_price_e4")
    base_quantity = fields.Integer()
    agreed_quantity = fields.Integer()
    brand_specific = fields.Boolean()


class CreditRatingCreateSchema(BaseSchema):
    enterprise_id = fields.Integer(required=True, strict=True)
    province_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    cause = fields.String(required=True)
    amount = Yuan(load_default=None, allow_none=True)
    product_ids = fields.List(fields.Integer(strict=True), load_default=list)
    effective_on = fields.Date(required=True)


class CreditRatingSchema(BaseSchema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    province_code = fields.String()
    grade = fields.String()
    cause = fields.String()
    amount = Yuan(attribute="amount_fen", allow_none=True)
    product_ids = fields.List(fields.Integer())
    effective_on = fields.Date()
    repaired_on = fields.Date(allow_none=True)


_TRUTHY = {"true", "1", "yes", "y", "是", "True", "TRUE", 1}
_FALSY = {"false", "0", "no", "n", "否", "False", "FALSE", "", 0}


class ProductRowSchema(ProductCreateSchema):
    """A catalogue spreadsheet row: same rules, cells arrive as text."""

    units_per_pack = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000))
    originator = fields.Boolean(load_default=False, truthy=_TRUTHY, falsy=_FALSY)
    reference_listed = fields.Boolean(load_default=False, truthy=_TRUTHY, falsy=_FALSY)
    consistency_evaluated = fields.Boolean(load_default=False, truthy=_TRUTHY, falsy=_FALSY)


class DemandRowSchema(DemandLineSchema):
    """A demand spreadsheet row."""

    item_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=0, max=10**12))
    brand_product_id = fields.Integer(load_default=None, allow_none=True)
