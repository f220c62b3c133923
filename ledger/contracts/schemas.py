"""marshmallow schemas of procurement agreements (money as decimal strings in yuan, unit prices
with 4 places), signing certificates and the verification answer."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from core.money import e4_to_str, fen_to_str
from core.validation import BaseSchema
from ledger.contracts.models import AgreementStatus
from ledger.contracts.states import AGREEMENT


class ProcurementAgreementQuerySchema(BaseSchema):
    batch_id = fields.Integer(validate=validate.Range(min=1))
    status = fields.Enum(AgreementStatus, by_value=True)


class AgreementTerminationSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ProcurementAgreementLineSchema(BaseSchema):
    allocation_id = fields.Integer()
    item_id = fields.Integer()
    award_id = fields.Integer()
    product_id = fields.Integer()
    agreed_quantity = fields.Integer(metadata={"description": "约定采购量（最小单位/年）"})
    unit_price = fields.Function(
        lambda ln: e4_to_str(ln.unit_price_e4), metadata={"description": "yuan, 4 dp"}
    )
    pack_price = fields.Function(lambda ln: fen_to_str(ln.pack_price_fen))
    amount = fields.Function(lambda ln: fen_to_str(ln.amount_fen))


class ProcurementAgreementSchema(BaseSchema):
    id = fields.Integer()
    number = fields.String()
    batch_id = fields.Integer()
    hospital_id = fields.Integer()
    manufacturer_id = fields.Integer()
    cycle_year = fields.Integer()
    starts_on = fields.Date()
    ends_on = fields.Date()
    status = fields.Function(lambda a: a.status.value)
    status_label = fields.Function(lambda a: AGREEMENT.label(a.status))
    renews_id = fields.Integer(allow_none=True)
    distributors = fields.List(fields.Dict())
    amount = fields.Function(lambda a: fen_to_str(a.amount_fen))
    content_sha256 = fields.String()
    created_at = fields.DateTime()
    hospital_signed_at = fields.DateTime(allow_none=True)
    enterprise_signed_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(ProcurementAgreementLineSchema))


class AgreementDocumentSchema(BaseSchema):
    agreement_id = fields.Integer()
    version = fields.Integer()
    sha256 = fields.String()
    signed_by = fields.Function(lambda d: d.signed_by.value if d.signed_by else None)
    extra_signature = fields.Dict(allow_none=True)
    created_at = fields.DateTime()


class SigningCertificateSchema(BaseSchema):
    id = fields.Integer()
    org_id = fields.Integer()
    fingerprint = fields.String()
    subject = fields.String()
    serial_hex = fields.String()
    source = fields.String()
    not_before = fields.DateTime()
    not_after = fields.DateTime()
    active = fields.Boolean()
    created_at = fields.DateTime()


class PdfSignatureCheckSchema(BaseSchema):
    field_name = fields.String()
    signer = fields.String()
    signed_at = fields.DateTime(allow_none=True)
    intact = fields.Boolean()
    valid = fields.Boolean()
    trusted = fields.Boolean()
    coverage = fields.String()
    modifications = fields.String()
    ok = fields.Boolean()


class AgreementKnownVersionSchema(BaseSchema):
    number = fields.String()
    status = fields.Function(lambda k: k.status.value)
    status_label = fields.String()
    hospital = fields.String()
    enterprise = fields.String()
    cycle_year = fields.Integer()
    period = fields.String()
    version = fields.Integer()
    latest_version = fields.Integer()
    current = fields.Boolean()
    superseded_by = fields.String(allow_none=True)


class AgreementVerificationSchema(BaseSchema):
    valid = fields.Boolean()
    signatures = fields.Method("_signatures")
    covers_whole_file = fields.Method("_covers")
    agreement = fields.Nested(AgreementKnownVersionSchema, attribute="known", allow_none=True)
    problems = fields.List(fields.String())

    def _signatures(self, result: Any) -> list[dict[str, Any]]:
        return PdfSignatureCheckSchema(many=True).dump(result.check.signatures)

    def _covers(self, result: Any) -> bool:
        return bool(result.check.covers_whole_file)
