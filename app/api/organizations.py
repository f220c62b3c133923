"""Organizations and their users (management by the bureau admin and each organization's admin)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from app.api.common import PAGE, paginate
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from core import accounts, clock, privacy
from core.actors import Actor, OrgKind, Role
from core.errors import PermissionDenied
from core.organizations import Organization, User
from core.schemas import (
    OrganizationCreateSchema,
    OrganizationQuerySchema,
    OrganizationSchema,
    OrganizationUpdateSchema,
    SessionsEndedSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)

PREFIX = ""
blp = Blueprint("organizations", __name__, description="机构与用户 (organizations and users)")
ADMIN = (Role.ADMIN,)
READERS_OF_USERS = (Role.ADMIN, Role.AUDITOR)


@blp.route("/organizations", methods=["GET"])
@requires()
@blp.arguments(OrganizationQuerySchema, location="query")
@blp.response(200, OrganizationSchema(many=True))
@blp.paginate(**PAGE)
def list_organizations(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Organizations the caller may see: all for the bureau, otherwise its own."""
    stmt = accounts.organizations_visible_to(current_actor()).order_by(Organization.id)
    if "kind" in query:
        stmt = stmt.where(Organization.kind == query["kind"])
    if "region_code" in query:
        stmt = stmt.where(Organization.region_code == query["region_code"])
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/organizations", methods=["POST"])
@requires(OrgKind.BUREAU, roles=ADMIN)
@idempotent()
@blp.arguments(OrganizationCreateSchema)
@blp.response(201, OrganizationSchema)
def create_organization(data: dict[str, Any]) -> Any:
    """Register a hospital, manufacturer, distributor or bureau (bureau admin)."""
    with unit_of_work() as session:
        return accounts.create_organization(session, current_actor(), now=clock.now(), **data)


@blp.route("/organizations/<int:org_id>", methods=["GET"])
@requires()
@blp.response(200, OrganizationSchema)
def get_organization(org_id: int) -> Any:
    """One organization (404 for another organization unless the caller is the bureau)."""
    return accounts.get_organization(request_session(), current_actor(), org_id)


@blp.route("/organizations/<int:org_id>", methods=["PATCH"])
@requires(OrgKind.BUREAU, roles=ADMIN)
@blp.arguments(OrganizationUpdateSchema)
@blp.response(200, OrganizationSchema)
def update_organization(changes: dict[str, Any], org_id: int) -> Any:
    """Rename, move, (de)activate an organization (bureau admin)."""
    with unit_of_work() as session:
        return accounts.update_organization(
            session, current_actor(), org_id, changes=changes, now=clock.now()
        )


@blp.route("/organizations/<int:org_id>/users", methods=["GET"])
@requires(roles=READERS_OF_USERS)
@blp.response(200, UserSchema(many=True))
@blp.paginate(**PAGE)
def list_users(org_id: int, pagination_parameters: PaginationParameters) -> Any:
    """Users of an organization (its admins/auditors, or the bureau); 404 for a foreign one."""
    session, actor = request_session(), current_actor()
    accounts.get_organization(session, actor, org_id)
    stmt = accounts.users_visible_to(actor).where(User.organization_id == org_id).order_by(User.id)
    return [_shown(actor, u) for u in paginate(session, stmt, pagination_parameters)]


def _shown(actor: Actor, user: User) -> Any:
    """The user as `actor` may see it: names are personal data (core.privacy)."""
    fields = ("id", "organization_id", "username", "role", "active", "created_at")
    return SimpleNamespace(
        **{f: getattr(user, f) for f in fields}, display_name=privacy.shown_name(actor, user)
    )


@blp.route("/organizations/<int:org_id>/users", methods=["POST"])
@requires(roles=ADMIN)
@idempotent()
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(data: dict[str, Any], org_id: int) -> Any:
    """Create a user (the organization's admin, or a bureau admin)."""
    actor = current_actor()
    with unit_of_work() as session:
        user = accounts.create_user(session, actor, organization_id=org_id, now=clock.now(), **data)
    return _shown(actor, user)


@blp.route("/users/<int:user_id>", methods=["GET"])
@requires()
@blp.response(200, UserSchema)
def get_user(user_id: int) -> Any:
    """One user: yourself, or a user of your organization (admins/auditors), or any (bureau)."""
    actor = current_actor()
    if actor.user_id != user_id and actor.role not in READERS_OF_USERS:
        raise PermissionDenied()
    return _shown(actor, accounts.get_user(request_session(), actor, user_id))


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@requires(roles=WRITERS)
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(changes: dict[str, Any], user_id: int) -> Any:
    """Change name, role, active flag or password (admins). A password change or deactivation
    ends the user's sessions and revokes its API tokens for good; nobody deactivates or demotes
    themselves, and no organization loses its last active admin (409)."""
    actor = current_actor()
    with unit_of_work() as session:
        user = accounts.update_user(session, actor, user_id, now=clock.now(), **changes)
    return _shown(actor, user)


@blp.route("/users/<int:user_id>/logout-everywhere", methods=["POST"])
@requires()
@blp.response(200, SessionsEndedSchema)
def logout_everywhere(user_id: int) -> Any:
    """End every browser session of a user at once: yourself, or a user you administer (an
    organization's admin, or a bureau admin). API tokens are revoked one by one (DELETE
    /auth/tokens/{id}) or all at once by a password change."""
    with unit_of_work() as session:
        ended = accounts.log_out_everywhere(session, current_actor(), user_id, now=clock.now())
    return {"revoked_sessions": ended}
