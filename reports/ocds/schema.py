"""A JSON Schema of what OCDS 1.1 requires of a release package, a release and a record package.

No maintained PyPI package ships the OCDS 1.1 release-package schema: ocdskit, ocdsmerge,
libcoveocds, ocdsextensionregistry and flattentool all fetch it over the network at run time,
which this platform does not do. So this schema is written from the documented standard
(https://standard.open-contracting.org/1.1/en/schema/): the required fields of a package and a
release, and the closed codelists (release tag, initiation type, party roles, tender status,
procurement method, main procurement category, award status, contract status), Value
{amount, currency}, periods and dates as RFC 3339 date-times. It validates with `jsonschema`
(draft 2020-12). It is not the full official schema: open codelists and free-text fields are
left open, as the standard leaves them.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

DATE_TIME = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
}
TAGS = [
    "planning", "planningUpdate", "tender", "tenderAmendment", "tenderUpdate", "tenderCancellation",
    "award", "awardUpdate", "awardCancellation", "contract", "contractUpdate", "contractAmendment",
    "implementation", "implementationUpdate", "contractTermination", "compiled",
]  # fmt: skip
PARTY_ROLES = [
    "buyer", "procuringEntity", "supplier", "tenderer", "funder", "enquirer", "payer", "payee",
    "reviewBody", "interestedParty",
]  # fmt: skip
TENDER_STATUS = ["planning", "planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn"]
METHODS = ["open", "selective", "limited", "direct"]
CATEGORIES = ["goods", "works", "services"]
AWARD_STATUS = ["pending", "active", "cancelled", "unsuccessful"]
CONTRACT_STATUS = ["pending", "active", "cancelled", "terminated"]

_id = {"type": ["string", "integer"], "minLength": 1}
_value = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {"amount": {"type": "number"}, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
}
_period = {
    "type": "object",
    "properties": {"startDate": DATE_TIME, "endDate": DATE_TIME},
}
_org_ref = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": _id, "name": {"type": "string"}},
}
_item = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": _id,
        "quantity": {"type": "number", "minimum": 0},
        "unit": {"type": "object", "properties": {"name": {"type": "string"}, "value": _value}},
    },
}
_items = {"type": "array", "items": _item}
_transaction = {
    "type": "object",
    "required": ["id", "date", "value"],
    "properties": {
        "id": _id,
        "date": DATE_TIME,
        "value": _value,
        "payer": _org_ref,
        "payee": _org_ref,
    },
}
RELEASE: dict[str, Any] = {
    "type": "object",
    "required": ["ocid", "id", "date", "tag", "initiationType"],
    "properties": {
        "ocid": {"type": "string", "minLength": 1},
        "id": {"type": "string", "minLength": 1},
        "date": DATE_TIME,
        "tag": {"type": "array", "minItems": 1, "items": {"enum": TAGS}},
        "initiationType": {"enum": ["tender"]},
        "language": {"type": "string"},
        "parties": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": _id,
                    "name": {"type": "string"},
                    "roles": {"type": "array", "items": {"enum": PARTY_ROLES}},
                },
            },
        },
        "buyer": _org_ref,
        "planning": {
            "type": "object",
            "properties": {"budget": {"type": "object", "properties": {"amount": _value}}},
        },
        "tender": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": _id,
                "status": {"enum": TENDER_STATUS},
                "procurementMethod": {"enum": METHODS},
                "mainProcurementCategory": {"enum": CATEGORIES},
                "value": _value,
                "items": _items,
                "tenderPeriod": _period,
                "awardPeriod": _period,
                "contractPeriod": _period,
                "numberOfTenderers": {"type": "integer", "minimum": 0},
            },
        },
        "awards": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": _id,
                    "status": {"enum": AWARD_STATUS},
                    "date": DATE_TIME,
                    "value": _value,
                    "suppliers": {"type": "array", "items": _org_ref},
                    "items": _items,
                    "contractPeriod": _period,
                },
            },
        },
        "contracts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "awardID"],
                "properties": {
                    "id": _id,
                    "awardID": _id,
                    "status": {"enum": CONTRACT_STATUS},
                    "period": _period,
                    "value": _value,
                    "items": _items,
                    "dateSigned": DATE_TIME,
                    "implementation": {
                        "type": "object",
                        "properties": {"transactions": {"type": "array", "items": _transaction}},
                    },
                },
            },
        },
        "bids": {
            "type": "object",
            "properties": {
                "statistics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "measure", "value"],
                        "properties": {"id": _id, "measure": {"type": "string"}, "value": {"type": "number"}},
                    },
                }
            },
        },
    },
}
_publisher = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}},
}
RELEASE_PACKAGE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["uri", "publishedDate", "releases", "publisher", "version"],
    "properties": {
        "uri": {"type": "string", "format": "uri", "minLength": 1},
        "version": {"const": "1.1"},
        "publishedDate": DATE_TIME,
        "publisher": _publisher,
        "extensions": {"type": "array", "items": {"type": "string"}},
        "releases": {"type": "array", "minItems": 1, "items": RELEASE},
    },
}
RECORD_PACKAGE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["uri", "publishedDate", "records", "publisher", "version"],
    "properties": {
        "uri": {"type": "string", "minLength": 1},
        "version": {"const": "1.1"},
        "publishedDate": DATE_TIME,
        "publisher": _publisher,
        "records": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["ocid", "releases"],
                "properties": {
                    "ocid": {"type": "string", "minLength": 1},
                    "releases": {"type": "array", "minItems": 1, "items": RELEASE},
                    "compiledRelease": RELEASE,
                },
            },
        },
    },
}

_release_package = Draft202012Validator(RELEASE_PACKAGE, format_checker=Draft202012Validator.FORMAT_CHECKER)
_record_package = Draft202012Validator(RECORD_PACKAGE, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(package: dict[str, Any]) -> list[str]:
    """Every way `package` (release or record package) breaks the schema, as "path: message"."""
    validator = _record_package if "records" in package else _release_package
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(package)'}: {error.message}"
        for error in sorted(validator.iter_errors(package), key=lambda e: list(map(str, e.absolute_path)))
    ]
