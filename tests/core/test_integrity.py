"""The unit of work turns a constraint the database enforced into a 409 naming the fields, on
SQLite and PostgreSQL alike (core/integrity.py); the concurrent races themselves are in
tests/api/test_unique_key_races.py."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Database, unit_of_work
from app.errors import handle_integrity_error
from core import clock, partitions
from core.actors import OrgKind
from core.db import Base
from core.integrity import UNIQUE, ConstraintViolated, constraints
from core.organizations import Organization
from ledger.models import FundSettlement, OffPlatformPurchase, PurchaseCategory
from tests.factories import make_org

MAY = date(2026, 5, 1)


def _off_platform(hospital_id: int, amount_fen: int = 100) -> OffPlatformPurchase:
    return OffPlatformPurchase(
        hospital_id=hospital_id,
        month=MAY,
        category=PurchaseCategory.DRUGS,
        amount_fen=amount_fen,
        reported_at=clock.now(),
    )


def _refused(db: Database, *rows: object) -> ConstraintViolated:
    with pytest.raises(ConstraintViolated) as caught, unit_of_work(db.sessionmaker()) as s:
        s.add_all(rows)
    return caught.value


def test_a_taken_unique_key_is_a_conflict_naming_the_keys_columns(db: Database, session: Session) -> None:
    hospital = make_org(session).id
    session.commit()
    conflict = _refused(db, _off_platform(hospital), _off_platform(hospital))
    assert (conflict.code, conflict.kind, conflict.table, conflict.constraint) == (
        "duplicate",
        UNIQUE,
        "off_platform_purchases",
        "one_per_month",
    )
    assert conflict.fields == {
        "hospital_id": ["已存在 (already exists)"],
        "month": ["已存在 (already exists)"],
        "category": ["已存在 (already exists)"],
    }
    with db.sessionmaker() as s:
        assert s.query(OffPlatformPurchase).count() == 0  # rolled back: nothing written


def test_a_taken_single_column_key_names_its_column(db: Database, session: Session) -> None:
    taken = make_org(session, OrgKind.DISTRIBUTOR)
    session.commit()
    twin = Organization(
        kind=OrgKind.DISTRIBUTOR,
        name="另一家",
        uscc=taken.uscc,
        region_code="510100",
        active=True,
        created_at=clock.now(),
    )
    conflict = _refused(db, twin)
    assert (conflict.constraint, conflict.fields) == (
        "uq_organizations_uscc",
        {"uscc": ["已存在 (already exists)"]},
    )


def test_a_check_violation_is_a_conflict_naming_the_checked_column(db: Database, session: Session) -> None:
    hospital = make_org(session).id
    session.commit()
    conflict = _refused(db, _off_platform(hospital, amount_fen=-1))
    assert (conflict.code, conflict.constraint, set(conflict.fields)) == (
        "constraint_violated",
        "ck_off_platform_purchases_amount_non_negative",
        {"amount_fen"},
    )


def test_a_reference_to_a_missing_row_is_a_conflict(db: Database, dialect: str) -> None:
    orphan = FundSettlement(hospital_id=987_654_321, period_month=MAY, deducted_fen=0, created_at=clock.now())
    conflict = _refused(db, orphan)
    assert conflict.code == "reference_gone"
    # SQLite does not say which foreign key failed; PostgreSQL names it.
    assert conflict.fields == (
        {}
        if dialect == "sqlite"
        else {"hospital_id": ["引用的记录不存在 (the referenced record does not exist)"]}
    )


def test_a_not_null_violation_is_a_bug_and_stays_an_error(db: Database) -> None:
    broken = Organization(
        kind=OrgKind.DISTRIBUTOR,
        name=None,
        uscc="x",
        region_code="510100",
        active=True,
        created_at=clock.now(),
    )
    with pytest.raises(IntegrityError), unit_of_work(db.sessionmaker()) as s:
        s.add(broken)


def test_an_integrity_error_outside_a_unit_of_work_answers_the_same_409(
    app: Flask, db: Database, session: Session, client: FlaskClient
) -> None:
    hospital = make_org(session).id
    session.commit()
    with db.sessionmaker() as s:
        s.add_all([_off_platform(hospital), _off_platform(hospital)])
        with pytest.raises(IntegrityError) as caught:
            s.flush()
    with app.test_request_context():
        response, status = handle_integrity_error(caught.value)
    assert status == 409
    assert response.get_json()["error"]["code"] == "duplicate"
    assert set(response.get_json()["error"]["fields"]) == {"hospital_id", "month", "category"}


def test_every_unique_key_in_the_database_is_known_by_name(db: Database) -> None:
    known = {(table, name) for table, name, _, kind in constraints(Base.metadata) if kind == UNIQUE}
    with db.sessionmaker() as s:
        inspector = inspect(s.connection())
        in_database = {
            (table, key["name"])
            for table in inspector.get_table_names()
            # A partition's copy of its table's key never names a conflict: the key's side table
            # refuses a duplicate first, under the table's own name (core/partition_convert.py).
            if table != "alembic_version" and not partitions.is_partition_name(table)
            for key in [
                *inspector.get_unique_constraints(table),
                *(i for i in inspector.get_indexes(table) if i["unique"]),
            ]
        }
    assert in_database <= known, in_database - known
