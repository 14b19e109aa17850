"""RBAC policies: a network's owner shares it with one project or with all (Neutron "rbac-policies").

An ``access_as_shared`` policy with ``target_tenant`` "*" is what ``shared: true`` on a network
means; the two are kept equal (setting one creates or deletes the other). A policy naming one
project lets that project see the network and its subnets and create ports on it, under the
same non-owner rules as a shared network (ports.py). Removing a grant that a project's port
still relies on is 409 (RbacPolicyInUse), as is ``shared: false`` then (InvalidSharedSetting).

``access_as_external`` (extension "rbac-policies" with external networks, Neutron's
external_net_db): a network with any such policy is ``router:external``; "*" makes it external
to every project (``router:external: true`` on create/update adds that one), one naming a
project makes it visible to that project only, for router gateways and floating IPs. Removing
the last one clears ``router:external``; removing one whose project still has a router gateway
or floating IP on the network is 409 (RbacPolicyInUse).

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
from ovnet.model.schema import FloatingIP, Network, Port, Project, RbacPolicy, Router
from ovnet.model.tenancy import Context, owner_project

SHARED = "access_as_shared"
EXTERNAL = "access_as_external"
EVERYONE = "*"
ATTRS = {
    "id": attributes.READ_ONLY,
    "project_id": Attr(attributes.string, put=False),
    "tenant_id": Attr(attributes.string, put=False),
    "object_type": Attr(attributes.one_of("network"), put=False, required=True),
    "object_id": Attr(attributes.uuid_string, put=False, required=True),
    "action": Attr(attributes.one_of(SHARED, EXTERNAL), put=False, required=True),
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


def shared_for(ctx: Context, network, item: dict) -> None:
    """Set ``item["shared"]`` (a network as shown) to what ``ctx`` sees: true when it is shared
    with every project or with ctx's own (Neutron's _is_network_shared), so a project a network
    was shared with by a policy sees ``shared: true``; ``network`` carries ``rbac_entries``."""
    item["shared"] = any(e.action == SHARED and e.target_project in (EVERYONE, ctx.project_id)
                         for e in network.rbac_entries)


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


def _check_target(session: Session, ctx: Context, target: str) -> None:
    # ovnet is its own identity service, so a target that is no project's id grants nothing to
    # anyone; a project's name there (a client that did not resolve it) would also make a second,
    # useless policy beside the one by id.
    if target == EVERYONE and not ctx.is_admin:
        raise Forbidden("rule:create_rbac_policy:target_tenant is disallowed by policy: only admin may share "
                        "with every project", field="target_tenant")
    if target == EVERYONE:
        return
    if not target or session.get(Project, target) is None:
        named = session.scalar(select(Project.id).where(Project.name == target)) if target else None
        hint = f" (project {target} has id {named}: give the id)" if named else ""
        raise BadRequest(f"Invalid input for target_tenant: {target!r} is not a project id or '*'{hint}",
                         field="target_tenant")


def _policies(network_id: str, action: str):
    return select(RbacPolicy).where(RbacPolicy.object_type == "network", RbacPolicy.object_id == network_id,
                                    RbacPolicy.action == action)


def _exists(session: Session, network_id: str, target: str, action: str = SHARED) -> RbacPolicy | None:
    return session.scalar(_policies(network_id, action).where(RbacPolicy.target_project == target))


def _duplicate() -> Conflict:
    return Conflict("An RBAC policy already exists with those values.", "DuplicateRbacPolicy")


def _mark(session: Session, network: Network, column: str, value: bool) -> None:
    if getattr(network, column) != value:
        setattr(network, column, value)
        record_update(session, network)


def grant(session: Session, network: Network, target: str, action: str = SHARED) -> RbacPolicy:
    """Grant ``action`` on ``network`` to ``target`` (a project id or "*"), owned by the network's
    project; Conflict (DuplicateRbacPolicy) when that grant exists. A shared "*" also sets
    ``shared``; any external grant sets ``router:external``."""
    if _exists(session, network.id, target, action):
        raise _duplicate()
    policy = RbacPolicy(project_id=network.project_id, object_type="network", object_id=network.id, action=action,
                        target_project=target)
    session.add(policy)
    if action == SHARED and target == EVERYONE:
        _mark(session, network, "shared", True)
    if action == EXTERNAL:
        _mark(session, network, "router_external", True)
    session.flush()
    return policy


def _users(network: Network, action: str):
    """Projects (other than the owner) whose objects rely on ``action`` on ``network``: ports
    but DHCP's for sharing (Neutron's ensure_no_tenant_ports_on_network), routers with their
    gateway on it and floating IPs from it for external access."""
    if action == SHARED:
        return [select(Port.project_id).where(Port.network_id == network.id, Port.device_owner != "network:dhcp")]
    return [select(Router.project_id).where(Router.gw_network_id == network.id),
            select(FloatingIP.project_id).where(FloatingIP.floating_network_id == network.id)]


def check_ungrant(session: Session, network: Network, target: str, type_: str, action: str = SHARED) -> None:
    """Conflict (``type_``: RbacPolicyInUse or InvalidSharedSetting) when an object of a project
    other than the owner (see _users) would lose its access to ``network`` if the ``action``
    grant to ``target`` went."""
    others = select(RbacPolicy.target_project).where(
        RbacPolicy.object_type == "network", RbacPolicy.object_id == network.id, RbacPolicy.action == action,
        RbacPolicy.target_project != target)
    still = set(session.scalars(others))
    if EVERYONE in still:
        return
    stranded = set()
    for query in _users(network, action):
        stranded |= set(session.scalars(query.distinct()))
    stranded -= still | {network.project_id, ""}
    if target != EVERYONE:
        stranded &= {target}
    if stranded:
        if type_ == "InvalidSharedSetting":
            message = (f"Unable to reconfigure sharing settings for network {network.id}. Multiple tenants are "
                       "using it.")
        else:
            message = (f"RBAC policy on object {network.id} cannot be removed because other objects depend on it.")
        raise Conflict(message, type_)


def ungrant(session: Session, network: Network, policy: RbacPolicy) -> None:
    """Remove ``policy`` from ``network`` (no checks: see check_ungrant); a shared "*" also clears
    ``shared``, the last external grant ``router:external``."""
    session.delete(policy)
    session.flush()
    if policy.action == SHARED and policy.target_project == EVERYONE:
        _mark(session, network, "shared", False)
    if policy.action == EXTERNAL and session.scalar(_policies(network.id, EXTERNAL).limit(1)) is None:
        _mark(session, network, "router_external", False)


def set_shared(session: Session, network: Network, shared: bool) -> None:
    """Make ``network``'s "*" grant match ``shared`` (network create/update with ``shared``).
    Conflict (InvalidSharedSetting) when unsharing would strand another project's port."""
    policy = _exists(session, network.id, EVERYONE)
    if shared and policy is None:
        grant(session, network, EVERYONE)
    elif not shared and policy is not None:
        check_ungrant(session, network, EVERYONE, "InvalidSharedSetting")
        ungrant(session, network, policy)


def set_external(session: Session, network: Network, external: bool) -> None:
    """``router:external`` set on ``network`` (create/update, admin only): becoming external grants
    "*" (Neutron's default for the flag); ceasing to be removes every external grant (the caller
    checked that no router gateway or floating IP uses the network)."""
    if external and not network.router_external:
        grant(session, network, EVERYONE, EXTERNAL)
    elif not external:
        for policy in session.scalars(_policies(network.id, EXTERNAL)):
            session.delete(policy)
        _mark(session, network, "router_external", False)


def forget(session: Session, network_id: str) -> None:
    """Delete every policy on the network ``network_id`` (it is being deleted)."""
    session.execute(delete(RbacPolicy).where(and_(RbacPolicy.object_type == "network",
                                                  RbacPolicy.object_id == network_id)))


def create_policy(session: Session, ctx: Context, body: object, defaults: Defaults = DEFAULTS) -> RbacPolicy:
    """Create a policy from a request body's inner dict. BadRequest for invalid input (a
    ``target_tenant`` that is neither "*" nor a project's id, e.g. its name), NotFound
    (NetworkNotFound) for a network ``ctx`` cannot see, Forbidden when ``ctx`` does not own it or
    a member targets "*", Conflict (DuplicateRbacPolicy)."""
    values = attributes.validate(ATTRS, "rbac_policy", body, create=True)
    owner_project(ctx, values, "rbac_policy")
    _check_target(session, ctx, values["target_tenant"])
    network = get_owned(session, ctx, Network, values["object_id"], "create_rbac_policy")
    quotas.check(session, network.project_id, "rbac_policy", defaults.quotas)
    return grant(session, network, values["target_tenant"], values["action"])


def update_policy(session: Session, ctx: Context, policy_id: str, body: object) -> RbacPolicy:
    """Point a policy at another ``target_tenant`` (its id stays); Conflict (RbacPolicyInUse) when
    the old target still has ports on the network, (DuplicateRbacPolicy) when the new grant exists."""
    values = attributes.validate(ATTRS, "rbac_policy", body, create=False)
    policy = get_policy(session, ctx, policy_id)
    old, target = policy.target_project, values.get("target_tenant", policy.target_project)
    if target == old:
        return policy
    _check_target(session, ctx, target)
    network = session.get(Network, policy.object_id)
    check_ungrant(session, network, old, "RbacPolicyInUse", policy.action)
    if _exists(session, network.id, target, policy.action):
        raise _duplicate()
    policy.target_project = target
    if policy.action == SHARED and EVERYONE in (old, target):
        _mark(session, network, "shared", target == EVERYONE)
    return policy


def delete_policy(session: Session, ctx: Context, policy_id: str) -> None:
    """Delete a policy; Conflict (RbacPolicyInUse) while its target project has ports on the network."""
    policy = get_policy(session, ctx, policy_id)
    network = session.get(Network, policy.object_id)
    check_ungrant(session, network, policy.target_project, "RbacPolicyInUse", policy.action)
    ungrant(session, network, policy)
