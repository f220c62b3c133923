"""A batch with published results (tests/renewal.py: two hospitals in two regions, winners A–D),
a distributor authorized by every winner for the province, and signing keys from a test CA."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from bidding.models import Award, VolumeAllocation
from core import pki
from core.actors import Actor, OrgKind, Role
from core.organizations import Organization
from ledger.models import DistributionAuthorization
from ledger.services.authorizations import authorize_distributor
from reports.agreement_signing import Pki
from tests.factories import make_org
from tests.renewal import PUBLISHED_AT, published_world
from tests.tendering import World

_addresses = itertools.count(1)

#: When the tests generate and sign: a day after the results were published.
NOW = PUBLISHED_AT + timedelta(days=1)


@dataclass
class Scene:
    world: World
    distributor: Organization

    @property
    def session(self) -> Session:
        return self.world.session

    @property
    def bureau(self) -> Actor:
        return self.world.bureau

    def allocations(self) -> list[tuple[VolumeAllocation, Award]]:
        return list(
            self.session.execute(
                select(VolumeAllocation, Award)
                .join(Award, Award.id == VolumeAllocation.award_id)
                .where(VolumeAllocation.batch_id == self.world.batch.id, VolumeAllocation.agreed_quantity > 0)
            )
        )

    def party(self, org_id: int, role: Role = Role.OPERATOR) -> Actor:
        return self.world.actor(self.session.get_one(Organization, org_id), role)


@pytest.fixture
def client(app: Flask, db: Database) -> FlaskClient:
    """A browser from an address of its own: the verification routes count against the public
    rate limit per client address, and the app (with its counters) lives for the whole run."""
    browser = app.test_client()
    n = next(_addresses)
    browser.environ_base["REMOTE_ADDR"] = f"198.19.{n // 250}.{n % 250 + 1}"  # benchmarking range
    return browser


@pytest.fixture(scope="session")
def test_ca() -> pki.PlatformCA:
    return pki.create_ca(name="测试CA", now=NOW - timedelta(days=30))


@pytest.fixture(scope="session")
def keys(test_ca: pki.PlatformCA) -> Pki:
    return Pki(ca=test_ca, roots=(test_ca.cert,), key_password=b"test-key-password-0123456789")


@pytest.fixture
def scene(session: Session) -> Scene:
    world = published_world(session)
    distributor = make_org(session, OrgKind.DISTRIBUTOR, name="配送企业甲", region_code="510100")
    for org in world.manufacturers.values():
        authorize_distributor(
            session,
            world.actor(org),
            distributor_id=distributor.id,
            product_id=None,
            region_code="510000",
            now=NOW,
        )
    assert session.scalar(select(DistributionAuthorization.id).limit(1)) is not None
    return Scene(world, distributor)
