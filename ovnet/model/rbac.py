"""RBAC policies: a network's owner shares it with one project or with all (Neutron "rbac-policies").

An ``access_as_shared`` policy with ``target_tenant`` "*" is what ``shared: true`` on a network
means; the two are kept equal (setting one creates or deletes the other). A policy naming one
project lets that project see the network and its subnets and create ports on it, under the
same non-owner rules as a shared network (ports.py). Removing a grant that a project's port
still relies on is 409 (RbacPolicyInUse), as is ``shared: false`` then (InvalidSharedSetting).
Only the owner of a policy sees it; an admin sees all. A member may not grant "*" (Neutron's
create_rbac_policy:target_tenant policy).
"""

from __future__ import annotations

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from ovnet.model import attributes, quotas
from ovnet.model.attributes import Attr
from ovnet.model.common import DEFAULTS, Defaults, get_owned, record_update
from ovnet.model.errors import BadRequest, Conflict, Forbidden, NotFound
from ovnet.model.schema import Network, Port, RbacPolicy
from ovnet.model.tenancy import Context, owner_project

SHARED = "access_as_shared"
EVERYONE = "*"
ATTRS = {
    "id": attributes.READ_ONLY,
    "project_id": Attr(attributes.string, put=False),
    "tenant_id": Attr(attributes.string, put=False),
    "object_type": Attr(attributes.one_of("network"), put=False, required=True),
    "object_id": Attr(attributes.uuid_string, put=False, required=True),
    "action": Attr(attributes.one_of(SHARED), put=False, required=True),
    "target_tenant": Attr(attributes.string, required=True),
}
FILTERS = {"id": RbacPolicy.id, "project_id": RbacPolicy.project_id, "tenant_id": RbacPolicy.project_id,
           "object_type": RbacPolicy.object_type, "object_id": RbacPolicy.object_id, "action": RbacPolicy.action,
           "target_tenant": RbacPolicy.target_project}


def rbac_dict(policy: RbacPolicy) -> dict:
    """A policy as Neutron shows it: id, project_id/tenant_id, object_type, object_id, action, target_tenant."""
    return {"id": policy.id, "project_id": policy.project_id, "tenant_id": policy.project_id,
            "object_type": policy.object_type, "object_id": policy.object_id, "action": policy.action,
            "target_tenant": policy.target_project}


def _visible(ctx: Context):
    return True if ctx.is_admin else RbacPolicy.project_id == ctx.project_id


def get_policy(session: Session, ctx: Context, policy_id: str) -> RbacPolicy:
    """The policy ``policy_id`` if ``ctx`` owns it (or is admin); NotFound (RbacPolicyNotFound) otherwise."""
    row = session.scalar(select(RbacPolicy).where(RbacPolicy.id == policy_id, _visible(ctx)))
    if row is None:
        raise NotFound(f"RBAC policy {policy_id} could not be found.", "RbacPolicyNotFound")
    return row


def list_policies(session: Session, ctx: Context, filters: dict[str, list[str]]) -> list[RbacPolicy]:
    """The policies ``ctx`` sees matching ``filters`` (attribute -> values ORed); BadRequest for an
    unknown attribute."""
    query = select(RbacPolicy).where(_visible(ctx)).order_by(RbacPolicy.id)
    for key, values in filters.items():
        if key not in FILTERS:
            raise BadRequest(f"[{key}] is invalid attribute for filtering", "HTTPBadRequest", key)
        query = query.where(FILTERS[key].in_(list(dict.fromkeys(values))))
    return list(session.scalars(query))


def _check_target(ctx: Context, target: str) -> None:
    if target == EVERYONE and not ctx.is_admin:
        raise Forbidden("rule:create_rbac_policy:target_tenant is disallowed by policy: only admin may share "
                        "with every project", field="target_tenant")
    if not target:
        raise BadRequest("Invalid input for target_tenant: it must name a project or be '*'", field="target_tenant")


def _exists(session: Session, network_id: str, target: str) -> RbacPolicy | None:
    return session.scalar(select(RbacPolicy).where(
        RbacPolicy.object_type == "network", RbacPolicy.object_id == network_id, RbacPolicy.action == SHARED,
        RbacPolicy.target_project == target))


def _duplicate() -> Conflict:
    return Conflict("An RBAC policy already exists with those values.", "DuplicateRbacPolicy")


def _mark_shared(session: Session, network: Network, shared: bool) -> None:
    if network.shared != shared:
        network.shared = shared
        record_update(session, network)


def grant(session: Session, network: Network, target: str) -> RbacPolicy:
    """Share ``network`` with ``target`` (a project id or "*"), owned by the network's project;
    Conflict (DuplicateRbacPolicy) when that grant exists. "*" also sets ``shared``."""
    if _exists(session, network.id, target):
        raise _duplicate()
    policy = RbacPolicy(project_id=network.project_id, object_type="network", object_id=network.id, action=SHARED,
                        target_project=target)
    session.add(policy)
    if target == EVERYONE:
        _mark_shared(session, network, True)
    session.flush()
    return policy


def check_ungrant(session: Session, network: Network, target: str, type_: str) -> None:
    """Conflict (``type_``: RbacPolicyInUse or InvalidSharedSetting) when a port of a project
    other than the owner would lose its access to ``network`` if the grant to ``target`` went.
    DHCP ports do not count (Neutron's ensure_no_tenant_ports_on_network)."""
    others = select(RbacPolicy.target_project).where(
        RbacPolicy.object_type == "network", RbacPolicy.object_id == network.id, RbacPolicy.action == SHARED,
        RbacPolicy.target_project != target)
    still = set(session.scalars(others))
    if EVERYONE in still:
        return
    query = select(Port.id).where(Port.network_id == network.id, Port.project_id != network.project_id,
                                  Port.device_owner != "network:dhcp", Port.project_id.not_in(still))
    if target != EVERYONE:
        query = query.where(Port.project_id == target)
    if session.scalar(query.limit(1)) is not None:
        if type_ == "InvalidSharedSetting":
            message = (f"Unable to reconfigure sharing settings for network {network.id}. Multiple tenants are "
                       "using it.")
        else:
            message = (f"RBAC policy on object {network.id} cannot be removed because other objects depend on it.")
        raise Conflict(message, type_)


def ungrant(session: Session, network: Network, policy: RbacPolicy) -> None:
    """Remove ``policy`` from ``network`` (no checks: see check_ungrant); "*" also clears ``shared``."""
    session.delete(policy)
    if policy.target_project == EVERYONE:
        _mark_shared(session, network, False)


def set_shared(session: Session, network: Network, shared: bool) -> None:
    """Make ``network``'s "*" grant match ``shared`` (network create/update with ``shared``).
    Conflict (InvalidSharedSetting) when unsharing would strand another project's port."""
    policy = _exists(session, network.id, EVERYONE)
    if shared and policy is None:
        grant(session, network, EVERYONE)
    elif not shared and policy is not None:
        check_ungrant(session, network, EVERYONE, "InvalidSharedSetting")
        ungrant(session, network, policy)


def forget(session: Session, network_id: str) -> None:
    """Delete every policy on the network ``network_id`` (it is being deleted)."""
    session.execute(delete(RbacPolicy).where(and_(RbacPolicy.object_type == "network",
                                                  RbacPolicy.object_id == network_id)))


def create_policy(session: Session, ctx: Context, body: object, defaults: Defaults = DEFAULTS) -> RbacPolicy:
    """Create a policy from a request body's inner dict. BadRequest for invalid input, NotFound
    (NetworkNotFound) for a network ``ctx`` cannot see, Forbidden when ``ctx`` does not own it or
    a member targets "*", Conflict (DuplicateRbacPolicy)."""
    values = attributes.validate(ATTRS, "rbac_policy", body, create=True)
    owner_project(ctx, values, "rbac_policy")
    _check_target(ctx, values["target_tenant"])
    network = get_owned(session, ctx, Network, values["object_id"], "create_rbac_policy")
    quotas.check(session, network.project_id, "rbac_policy", defaults.quotas)
    return grant(session, network, values["target_tenant"])


def update_policy(session: Session, ctx: Context, policy_id: str, body: object) -> RbacPolicy:
    """Point a policy at another ``target_tenant`` (its id stays); Conflict (RbacPolicyInUse) when
    the old target still has ports on the network, (DuplicateRbacPolicy) when the new grant exists."""
    values = attributes.validate(ATTRS, "rbac_policy", body, create=False)
    policy = get_policy(session, ctx, policy_id)
    old, target = policy.target_project, values.get("target_tenant", policy.target_project)
    if target == old:
        return policy
    _check_target(ctx, target)
    network = session.get(Network, policy.object_id)
    check_ungrant(session, network, old, "RbacPolicyInUse")
    if _exists(session, network.id, target):
        raise _duplicate()
    policy.target_project = target
    if EVERYONE in (old, target):
        _mark_shared(session, network, target == EVERYONE)
    return policy


def delete_policy(session: Session, ctx: Context, policy_id: str) -> None:
    """Delete a policy; Conflict (RbacPolicyInUse) while its target project has ports on the network."""
    policy = get_policy(session, ctx, policy_id)
    network = session.get(Network, policy.object_id)
    check_ungrant(session, network, policy.target_project, "RbacPolicyInUse")
    ungrant(session, network, policy)
