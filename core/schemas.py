"""Marshmallow schemas of the kernel: organizations, users, tokens, audit events."""

from __future__ import annotations

from marshmallow import fields, validate

from core.actors import OrgKind, Role
from core.organizations import HospitalLevel
from core.validation import BaseSchema

_name = validate.Length(min=1, max=200)
_username = validate.Regexp(
    r"^[A-Za-z0-9_.\-]{3,64}$", error="3–64位字母、数字或 _ . - (3–64 letters, digits, _ . -)"
)
_assignable_roles = [Role.ADMIN, Role.OPERATOR, Role.AUDITOR]


class OrganizationCreateSchema(BaseSchema):
    kind = fields.Enum(OrgKind, by_value=True, required=True)
    name = fields.String(required=True, validate=_name)
    uscc = fields.String(
        required=True, metadata={"description": "统一社会信用代码 (18 chars, GB 32100-2015)"}
    )
    region_code = fields.String(
        required=True, metadata={"description": "6-digit administrative division code"}
    )
    hospital_level = fields.Enum(HospitalLevel, by_value=True, allow_none=True, load_default=None)
    is_public = fields.Boolean(allow_none=True, load_default=None)


class OrganizationUpdateSchema(BaseSchema):
    name = fields.String(validate=_name)
    region_code = fields.String()
    hospital_level = fields.Enum(HospitalLevel, by_value=True, allow_none=True)
    is_public = fields.Boolean(allow_none=True)
    active = fields.Boolean()


class OrganizationSchema(BaseSchema):
    id = fields.Integer(dump_only=True)
    kind = fields.Enum(OrgKind, by_value=True)
    name = fields.String()
    uscc = fields.String()
    region_code = fields.String()
    hospital_level = fields.Enum(HospitalLevel, by_value=True, allow_none=True)
    is_public = fields.Boolean(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()


class OrganizationQuerySchema(BaseSchema):
    kind = fields.Enum(OrgKind, by_value=True)
    region_code = fields.String()


class UserCreateSchema(BaseSchema):
    username = fields.String(required=True, validate=_username)
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    role = fields.Enum(Role, by_value=True, required=True, validate=validate.OneOf(_assignable_roles))


class UserUpdateSchema(BaseSchema):
    display_name = fields.String(validate=validate.Length(min=1, max=100))
    role = fields.Enum(Role, by_value=True, validate=validate.OneOf(_assignable_roles))
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(max=200))


class UserSchema(BaseSchema):
    id = fields.Integer()
    organization_id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.Enum(Role, by_value=True)
    active = fields.Boolean()
    created_at = fields.DateTime()


class SessionsEndedSchema(BaseSchema):
    revoked_sessions = fields.Integer(metadata={"description": "How many live sessions were ended."})


class LoginSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class MeSchema(BaseSchema):
    user = fields.Nested(UserSchema)
    organization = fields.Nested(OrganizationSchema)
    csrf_token = fields.String(allow_none=True)
    auth_method = fields.String()


class TokenCreateSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    expires_in_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=365)
    )
    #: Only when not already authenticated: obtain a token with a password (HIS/ERP bootstrap).
    username = fields.String(validate=validate.Length(min=1, max=64))
    password = fields.String(load_only=True, validate=validate.Length(min=1, max=200))


class TokenSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class TokenIssuedSchema(TokenSchema):
    token = fields.String(metadata={"description": "The bearer token; shown once, store it safely."})


class AuditEventSchema(BaseSchema):
    id = fields.Integer()
    #: The chain (lane) the event belongs to; `seq` is its position in that lane.
    lane = fields.Integer()
    seq = fields.Integer()
    at = fields.DateTime()
    actor_user_id = fields.Integer(allow_none=True)
    #: The acting user's name, masked (王**) unless the caller administers the actor's organization.
    actor_name = fields.String(allow_none=True)
    actor_org_id = fields.Integer(allow_none=True)
    actor_role = fields.String()
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    subject_org_id = fields.Integer(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    hash = fields.String()
    #: Cryptographic suite whose digest made `hash`: standard (SHA-256) or sm (SM3).
    suite = fields.String()


class AuditQuerySchema(BaseSchema):
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    since = fields.AwareDateTime(default_timezone=None)
    until = fields.AwareDateTime(default_timezone=None)


class ChainReportSchema(BaseSchema):
    ok = fields.Boolean()
    checked = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)
    #: Where the problem is: the lane of `first_bad_seq`, or the day of a broken daily root.
    lane = fields.Integer(allow_none=True)
    day = fields.Date(allow_none=True)
    #: Daily roots checked.
    roots = fields.Integer()
