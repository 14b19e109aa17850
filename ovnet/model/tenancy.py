"""Projects, tokens and who may see what (Neutron's default policy, reduced to admin and member).

A token is a random secret shown once; the store keeps only its SHA-256 digest (the secret has
256 bits of entropy, so a fast hash is enough). A member sees its own project's resources, shared
networks (to all, or to it by an RBAC policy) and their subnets, and the ports on networks it owns; anything else is "not found", as in
Neutron. An admin sees everything and may act on behalf of any project.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select, true
from sqlalchemy.orm import Session

from ovnet.model.prepared import Prepared
from ovnet.model.errors import BadRequest, Conflict, Forbidden, NotAuthorized, NotFound
from ovnet.model.schema import Network, Port, Project, RbacPolicy, Subnet, Token, utcnow

ROLES = ("admin", "member")
ADMIN_PROJECT = "admin"
# A project name becomes part of a clouds.yaml cloud name, file names and URLs, so it is kept to
# characters that need no quoting anywhere.
PROJECT_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class Context:
    """The authenticated caller: its project id and whether it holds the admin role."""

    project_id: str
    is_admin: bool = False


# Who runs `ovnet project ...` on the server: holding the state directory (the SQL store and the
# admin token) already makes one admin, so the CLI acts as admin of no particular project.
OPERATOR = Context(project_id="", is_admin=True)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which ``token`` is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_project_name(name: str) -> str:
    """``name`` if it is a valid project name (1 to 64 of A-Z a-z 0-9 . _ -), else BadRequest."""
    if not PROJECT_NAME_RE.match(name) or name in (".", ".."):
        raise BadRequest(f"Invalid project name {name!r}: use 1 to 64 letters, digits, '-', '_' or '.'",
                         field="name")
    return name


def create_project(session: Session, name: str) -> Project:
    """A new project called ``name``; Conflict if the name is taken, BadRequest if it is invalid
    (see check_project_name)."""
    check_project_name(name)
    if session.scalar(select(Project).where(Project.name == name)):
        raise Conflict(f"Project {name} already exists", "ProjectExists")
    project = Project(name=name)
    session.add(project)
    session.flush()
    return project


def add_project(session: Session, ctx: Context, name: str) -> Project:
    """``create_project`` for a caller: admin only, as Keystone's identity:create_project
    (Forbidden otherwise)."""
    require_admin(ctx, "identity:create_project")
    return create_project(session, name)


def issue_member_token(session: Session, ctx: Context, project_id: str, expires_in_s: float | None = None) -> str:
    """A new member token of project ``project_id`` (older ones stay valid), expiring after
    ``expires_in_s`` seconds (None: never); admin only (Forbidden otherwise), NotFound when there
    is no such project, BadRequest for a lifetime not above 0."""
    require_admin(ctx, "identity:create_token")
    return issue_token(session, get_project(session, ctx, project_id).id, "member", expires_in_s=expires_in_s)


def get_or_create_project(session: Session, name: str) -> Project:
    """The project called ``name``, created if missing."""
    return session.scalar(select(Project).where(Project.name == name)) or create_project(session, name)


def find_projects(session: Session, ctx: Context, name: str | None = None) -> list[Project]:
    """Every project, or the one called ``name`` (empty list when none), ordered by name.

    Admin only, as Keystone's default policy for identity:list_projects; Forbidden otherwise.
    """
    require_admin(ctx, "identity:list_projects")
    query = select(Project).order_by(Project.name)
    if name is not None:
        query = query.where(Project.name == name)
    return list(session.scalars(query))


def get_project(session: Session, ctx: Context, project_id: str) -> Project:
    """The project ``project_id``; an admin's, or a member's own (Keystone's identity:get_project
    policy: admin or the token's project); Forbidden otherwise, NotFound when there is none."""
    if ctx.project_id != project_id:
        require_admin(ctx, "identity:get_project")
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Could not find project: {project_id}.", "ProjectNotFound")
    return project


def project_by_name(session: Session, ctx: Context, name: str) -> Project:
    """The project called ``name``; admin only (Forbidden otherwise), NotFound when there is none."""
    found = find_projects(session, ctx, name)
    if not found:
        raise NotFound(f"Could not find project: {name}.", "ProjectNotFound")
    return found[0]


def token_counts(session: Session, ctx: Context) -> dict[str, int]:
    """Project id -> number of tokens it holds (projects without tokens are absent); admin only."""
    require_admin(ctx, "identity:list_projects")
    rows = session.execute(select(Token.project_id, func.count()).group_by(Token.project_id))
    return {project_id: count for project_id, count in rows}


def require_admin(ctx: Context, action: str) -> None:
    """Forbidden (Keystone's message, naming ``action``) unless ``ctx`` holds the admin role."""
    if not ctx.is_admin:
        raise Forbidden(f"You are not authorized to perform the requested action: {action}.")


def issue_token(session: Session, project_id: str, role: str, token: str | None = None,
                expires_in_s: float | None = None) -> str:
    """Store a token for ``project_id`` with ``role`` ("admin" | "member"); return the secret.

    ``token`` re-registers a known secret (e.g. the admin token file after the store was reset).
    ``expires_in_s`` (seconds, > 0) makes it invalid that long from now; None: valid until revoked.
    """
    if role not in ROLES:
        raise BadRequest(f"role must be one of {ROLES}", field="role")
    if expires_in_s is not None and not expires_in_s > 0:
        raise BadRequest(f"a token's lifetime must be more than 0 seconds, not {expires_in_s}", field="expires")
    secret = token or secrets.token_urlsafe(32)
    digest = hash_token(secret)
    if session.get(Token, digest) is None:
        expires = utcnow() + dt.timedelta(seconds=expires_in_s) if expires_in_s is not None else None
        session.add(Token(token_hash=digest, project_id=project_id, role=role, expires_at=expires))
        session.flush()
    return secret


def revoke_tokens(session: Session, ctx: Context, project_id: str, token: str | None = None) -> int:
    """Delete the token ``token`` of ``project_id`` (None: all of that project's tokens); return how
    many went. Admin only (Forbidden otherwise); NotFound (ProjectNotFound, or TokenNotFound when
    ``token`` is not one of the project's). A revoked token fails on the next request: ``authenticate`` reads the store
    every time."""
    require_admin(ctx, "identity:revoke_token")
    get_project(session, ctx, project_id)
    query = delete(Token).where(Token.project_id == project_id)
    if token is not None:
        query = query.where(Token.token_hash == hash_token(token))
    gone = session.execute(query).rowcount
    if token is not None and not gone:
        raise NotFound("The token is not one of this project's tokens.", "TokenNotFound")
    return gone


# Built once: every request runs it, and building the statement (and its cache key) cost
# several times its execution on SQLite.
_TOKEN_ROW = Prepared(select(Token.project_id, Token.role, Token.expires_at).where(
    Token.token_hash == bindparam("digest")))


def authenticate(session: Session, token: str | None) -> Context:
    """The Context of ``token``; NotAuthorized if it is missing, unknown (revoked) or expired."""
    if not token:
        raise NotAuthorized("Authentication required: send a token in X-Auth-Token")
    row = _TOKEN_ROW.first(session, {"digest": hash_token(token)})
    if row is None:
        raise NotAuthorized("The token is not valid")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise NotAuthorized("The token has expired")
    return Context(project_id=row.project_id, is_admin=row.role == "admin")


def visible(ctx: Context, model: type) -> ColumnElement[bool]:
    """A SQL condition selecting the rows of ``model`` (a resource table) ``ctx`` may see.

    Admin sees everything; others their own rows, and: networks shared or external to them or to
    all, with their subnets (RBAC access_as_shared / access_as_external), ports on their own networks,
    and rows of any other table with a ``shared`` column that is true (subnet pools). Any other
    table (routers, floating IPs): own rows only.
    """
    if ctx.is_admin:
        return true()
    own = model.project_id == ctx.project_id
    # Shared (access_as_shared) or external (access_as_external) to this project or to all ("*").
    granted = select(RbacPolicy.object_id).where(RbacPolicy.object_type == "network",
                                                 RbacPolicy.target_project.in_((ctx.project_id, "*")))
    if model is Network:
        return or_(own, Network.shared.is_(True), Network.id.in_(granted))
    if model is Subnet:
        return or_(own, Subnet.network_id.in_(select(Network.id).where(Network.shared.is_(True))),
                   Subnet.network_id.in_(granted))
    if model is Port:
        return or_(own, Port.network_id.in_(select(Network.id).where(Network.project_id == ctx.project_id)))
    if "shared" in model.__table__.columns:
        return or_(own, model.shared.is_(True))
    return own


def require_owner(ctx: Context, row: Network | Subnet | Port, action: str) -> None:
    """Forbidden unless ``ctx`` is admin or owns ``row`` (a visible shared network is not owned)."""
    if not ctx.is_admin and row.project_id != ctx.project_id:
        raise Forbidden(f"rule:{action} is disallowed by policy")


def owner_project(ctx: Context, values: dict, resource: str) -> str:
    """The project a new resource belongs to: ``project_id``/``tenant_id`` from the body or the caller's.

    Both given and different: BadRequest. A member naming another project: Forbidden (Neutron's
    policy: only admin creates on behalf of another project).
    """
    project_id, tenant_id = values.pop("project_id", None), values.pop("tenant_id", None)
    if project_id and tenant_id and project_id != tenant_id:
        raise BadRequest("'project_id' and 'tenant_id' do not match", field="project_id")
    wanted = project_id or tenant_id or ctx.project_id
    if wanted != ctx.project_id and not ctx.is_admin:
        raise Forbidden(f"rule:create_{resource} is disallowed by policy: only admin may set project_id")
    return wanted
