"""Per-project quotas on how many networks, subnets, subnet pools, ports, RBAC policies, routers,
floating IPs, security groups and security group rules a project holds (Neutron "quotas" extension, its DbQuotaDriver semantics).

A project's limit of a resource is its row in ``quotas`` or else the deployment default
(``Defaults.quotas``, from settings); -1 is unlimited. Creating past the limit is Conflict
(OverQuota), checked in the creating transaction, so a bulk create counts its own earlier items.
Only an admin changes quotas; a member may read its own project's.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from ovnet.model import attributes
from ovnet.model.errors import BadRequest, Conflict, Forbidden
from ovnet.model.prepared import Prepared
from ovnet.model.query import INT32_MAX
from ovnet.model.schema import (FloatingIP, Network, Port, Quota, RbacPolicy, Router, SecurityGroup,
                                SecurityGroupRule, Subnet, SubnetPool)
from ovnet.model.tenancy import Context

UNLIMITED = -1
# resource name (the key in a quota body) -> the table whose rows of a project count against it
COUNTED: dict[str, type] = {"network": Network, "subnet": Subnet, "subnetpool": SubnetPool, "port": Port,
                            "rbac_policy": RbacPolicy,
                            "router": Router, "floatingip": FloatingIP, "security_group": SecurityGroup,
                            "security_group_rule": SecurityGroupRule}


def limits(session: Session, project_id: str, defaults: Mapping[str, int]) -> dict[str, int]:
    """Every resource's limit for ``project_id``: its own rows over ``defaults`` over unlimited."""
    result = {name: defaults.get(name, UNLIMITED) for name in COUNTED}
    result.update(session.execute(select(Quota.resource, Quota.limit).where(Quota.project_id == project_id)).all())
    return result


def used(session: Session, project_id: str) -> dict[str, int]:
    """How many of each resource ``project_id`` holds now."""
    return {name: session.scalar(select(func.count()).select_from(model).where(model.project_id == project_id))
            for name, model in COUNTED.items()}


# Built once (every create runs it): see prepared.py.
_LIMIT = Prepared(select(Quota.limit).where(Quota.project_id == bindparam("project_id"),
                                            Quota.resource == bindparam("resource")))


def _limit(session: Session, project_id: str, resource: str, defaults: Mapping[str, int]) -> int:
    limit = _LIMIT.scalar(session, {"project_id": project_id, "resource": resource})
    return defaults.get(resource, UNLIMITED) if limit is None else limit


def _count(session: Session, project_id: str, resource: str) -> int:
    model = COUNTED[resource]
    return session.scalar(select(func.count()).select_from(model).where(model.project_id == project_id))


def _over(resource: str) -> Conflict:
    return Conflict(f"Quota exceeded for resources: ['{resource}'].", "OverQuota", resource)


def check(session: Session, project_id: str, resource: str, defaults: Mapping[str, int]) -> None:
    """Conflict (OverQuota) when ``project_id`` already holds its limit of ``resource``. While the
    limit is unlimited this costs one primary-key lookup and no count."""
    limit = _limit(session, project_id, resource, defaults)
    if limit >= 0 and _count(session, project_id, resource) >= limit:
        raise _over(resource)


class Tally:
    """``check`` for many creates of ``resource`` in one transaction (a bulk create), with the
    same answers: each project's limit and count are read once (after a flush, so they include
    what the transaction made so far), then the creates checked here are counted here. Every
    create of ``resource`` in the transaction after the first ``check`` must go through it."""

    def __init__(self, resource: str, defaults: Mapping[str, int]):
        self.resource, self.defaults = resource, defaults
        self._left: dict[str, int | None] = {}  # project id -> creates left (None: unlimited)

    def check(self, session: Session, project_id: str) -> None:
        """Conflict (OverQuota) when ``project_id`` may create no more; else count one create."""
        if project_id not in self._left:
            limit = _limit(session, project_id, self.resource, self.defaults)
            if limit < 0:
                self._left[project_id] = None
            else:
                session.flush()
                self._left[project_id] = limit - _count(session, project_id, self.resource)
        left = self._left[project_id]
        if left is None:
            return
        if left <= 0:
            raise _over(self.resource)
        self._left[project_id] = left - 1


def _require_reader(ctx: Context, project_id: str) -> None:
    if not ctx.is_admin and ctx.project_id != project_id:
        raise Forbidden("rule:get_quota is disallowed by policy")


def show(session: Session, ctx: Context, project_id: str, defaults: Mapping[str, int]) -> dict[str, int]:
    """The limits of ``project_id``; Forbidden for a member asking about another project."""
    _require_reader(ctx, project_id)
    return limits(session, project_id, defaults)


def details(session: Session, ctx: Context, project_id: str, defaults: Mapping[str, int]) -> dict[str, dict]:
    """{resource: {"limit", "used", "reserved"}} (Neutron quota_details); Forbidden as ``show``."""
    _require_reader(ctx, project_id)
    counts = used(session, project_id)
    return {name: {"limit": limit, "used": counts[name], "reserved": 0}
            for name, limit in limits(session, project_id, defaults).items()}


def update(session: Session, ctx: Context, project_id: str, body: object,
           defaults: Mapping[str, int]) -> dict[str, int]:
    """Set some of ``project_id``'s limits from ``{resource: int >= -1}``; return all its limits.

    Forbidden for a member (Neutron: update_quota is admin only); BadRequest for an unknown
    resource or a limit below -1. A limit below what the project holds is accepted (only new
    resources are refused) unless ``check_limit`` is true (Neutron's quota-check-limit
    extension, which ``openstack quota set`` sends): then it is Conflict (InvalidQuotaValue).
    """
    if not ctx.is_admin:
        raise Forbidden("rule:update_quota is disallowed by policy")
    values = dict(attributes.mapping("quota", body))
    check_limit = attributes.boolean("check_limit", values.pop("check_limit", False))
    for name, value in values.items():
        if name not in COUNTED:
            raise BadRequest(f"Unrecognized attribute(s) '{name}'", field=name)
        limit = attributes.in_range(UNLIMITED, INT32_MAX)(name, value)
        if check_limit and limit >= 0:
            model = COUNTED[name]
            held = session.scalar(select(func.count()).select_from(model).where(model.project_id == project_id))
            if held > limit:
                raise Conflict(f"Quota limit {limit} for {name} must be greater than or equal to already used "
                               f"{held}.", "InvalidQuotaValue", name)
        row = session.get(Quota, (project_id, name))
        if row is None:
            session.add(Quota(project_id=project_id, resource=name, limit=limit))
        else:
            row.limit = limit
    session.flush()
    return limits(session, project_id, defaults)


def reset(session: Session, ctx: Context, project_id: str) -> None:
    """Forget ``project_id``'s own limits (back to the defaults); admin only."""
    if not ctx.is_admin:
        raise Forbidden("rule:delete_quota is disallowed by policy")
    session.execute(delete(Quota).where(Quota.project_id == project_id))


def list_all(session: Session, ctx: Context, defaults: Mapping[str, int]) -> list[dict]:
    """The limits of every project with limits of its own: [{"project_id", resource: limit, ...}]; admin only."""
    if not ctx.is_admin:
        raise Forbidden("rule:get_quota is disallowed by policy")
    projects = session.scalars(select(Quota.project_id).distinct().order_by(Quota.project_id)).all()
    return [{"project_id": p, "tenant_id": p, **limits(session, p, defaults)} for p in projects]
