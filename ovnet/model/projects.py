"""Deleting a project: its tokens, and what it owns, refused or removed in order.

Keystone's ``DELETE /v3/projects/{id}`` removes the project and leaves its Neutron resources
behind, owned by a project id nothing can log in as any more (operators clean them up with
``neutron purge`` or ``openstack project cleanup``, if they remember). ovnet holds both halves, so
it does better: by default a project that still owns resources is not deleted (Conflict naming
how many of each kind it owns), and with ``cascade`` its resources are removed first, in the
order their own delete rules allow, by the same model operations an admin would call:

1. floating IPs; 2. routers: extra routes, then each interface, then the router (its gateway
goes with it); 3. ports; 4. subnets; 5. networks; 6. security groups (with their rules,
``default`` included); 7. subnet pools; then RBAC policies it made or that name it, its quotas,
its tokens and the project row.

All in one transaction: if any step is refused (a subnet of another project allocated from its
pool), nothing is deleted and the refusal says which object. Other projects' ports on its
networks are looked for first, and the refusal names each with its project. A project holding
an admin token (the installation's own) is never deleted.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ovnet.model import addressscopes, floatingips, networks, ports, routers, secgroups, subnetpools, subnets
from ovnet.model.errors import Conflict
from ovnet.model.registry import BY_PLURAL, KINDS
from ovnet.model.schema import (
    AddressScope,
    DefaultSecurityGroup,
    FloatingIP,
    Network,
    Port,
    Project,
    Quota,
    RbacPolicy,
    Router,
    SecurityGroup,
    Subnet,
    SubnetPool,
    Token,
)
from ovnet.model.tenancy import Context, get_project, require_admin


def owned(session: Session, project_id: str) -> dict[str, int]:
    """How many objects of each kind (by plural: {"networks": 2}) ``project_id`` owns; kinds it
    owns none of are absent. Every registry kind is counted, so a new kind is never forgotten."""
    counts = {}
    for kind in KINDS.values():
        n = len(session.scalars(select(kind.model.id).where(kind.model.project_id == project_id)).all())
        if n:
            counts[kind.plural] = n
    return counts


def delete_project(session: Session, ctx: Context, project_id: str, cascade: bool = False) -> dict[str, int]:
    """Delete project ``project_id`` and revoke its tokens; return what went ({plural: n}, with
    "tokens"). Admin only (Forbidden). NotFound (ProjectNotFound). Conflict (ProjectInUse) while
    it owns resources and ``cascade`` is false, or when it holds an admin token; with ``cascade``,
    any Conflict a step's own rule raises (the whole delete is then undone)."""
    require_admin(ctx, "identity:delete_project")
    project = get_project(session, ctx, project_id)
    if session.scalar(select(Token.token_hash).where(Token.project_id == project.id, Token.role == "admin")):
        raise Conflict(f"Project {project.name} holds an admin token; it cannot be deleted.", "ProjectInUse")
    counts = owned(session, project.id)
    if counts and not cascade:
        what = ", ".join(f"{n} {(plural if n != 1 else BY_PLURAL[plural].name).replace('_', ' ')}"
                         for plural, n in counts.items())
        raise Conflict(f"Project {project.name} still owns {what}; delete them first, or delete the project "
                       "with cascade.", "ProjectInUse")
    if counts:
        blocking = _others_ports(session, project.id)
        if blocking:
            # Said up front, naming each port and its project: the step that would fail (the subnet
            # delete) could only say "one or more ports have an IP allocation".
            raise Conflict(f"Project {project.name} cannot be deleted with cascade: its networks hold ports of other "
                           f"projects: {'; '.join(blocking)}. Delete them first; nothing was deleted.", "ProjectInUse")
        _remove_resources(session, ctx, project.id)
        left = owned(session, project.id)
        if left:  # a kind this order does not know yet: refuse rather than orphan it
            raise Conflict(f"Project {project.name} still owns {left} after the cascade.", "ProjectInUse")
    session.execute(delete(RbacPolicy).where(or_(RbacPolicy.project_id == project.id,
                                                 RbacPolicy.target_project == project.id)))
    session.execute(delete(Quota).where(Quota.project_id == project.id))
    session.execute(delete(DefaultSecurityGroup).where(DefaultSecurityGroup.project_id == project.id))
    tokens = session.execute(delete(Token).where(Token.project_id == project.id)).rowcount
    session.delete(project)
    session.flush()
    return {**counts, "tokens": tokens}


def _others_ports(session: Session, project_id: str) -> list[str]:
    """The ports on ``project_id``'s networks that its cascade would not remove, each as "port ID
    [NAME] (DEVICE_OWNER) of project NAME on network NAME-or-ID". A router gateway or floating IP
    port has no project of its own (Neutron's ""): it belongs to its router's or floating IP's."""
    rows = session.execute(
        select(Port.id, Port.name, Port.device_owner, Port.project_id, Port.device_id, Network.id, Network.name)
        .join(Network, Network.id == Port.network_id)
        .where(Network.project_id == project_id, Port.device_owner.not_in(networks.AUTO_DELETED_OWNERS))
        .order_by(Network.name, Port.id)).all()
    devices = {row[4] for row in rows if not row[3]}
    device_projects = dict(session.execute(select(Router.id, Router.project_id).where(Router.id.in_(devices))).all())
    device_projects.update(session.execute(select(FloatingIP.id, FloatingIP.project_id)
                                           .where(FloatingIP.id.in_(devices))).all())
    names = dict(session.execute(select(Project.id, Project.name)).all())
    blocking = []
    for port_id, name, owner, port_project, device_id, net_id, net_name in rows:
        holder = port_project or device_projects.get(device_id, "")
        if holder == project_id:
            continue
        blocking.append(f"port {port_id}{' ' + name if name else ''} ({owner or 'no owner'}) of project "
                        f"{names.get(holder, holder or '(none)')} on network {net_name or net_id}")
    return blocking


def _ids(session: Session, model: type, project_id: str, *where) -> list[str]:
    return list(session.scalars(select(model.id).where(model.project_id == project_id, *where)
                                .order_by(model.created_at, model.id)))


def _remove_resources(session: Session, ctx: Context, project_id: str) -> None:
    for fip in _ids(session, FloatingIP, project_id):
        floatingips.delete_floatingip(session, ctx, fip)
    for router_id in _ids(session, Router, project_id):
        router = session.get(Router, router_id)
        router.routes = []  # an extra route's nexthop would keep its interface (RouterInterfaceInUse)
        for port in routers.interface_ports(session, router_id):
            routers.remove_router_interface(session, ctx, router_id, {"port_id": port.id})
        routers.delete_router(session, ctx, router_id)
    for port_id in _ids(session, Port, project_id, Port.device_owner.not_in(networks.AUTO_DELETED_OWNERS)):
        ports.delete_port(session, ctx, port_id)
    for subnet_id in _ids(session, Subnet, project_id):
        subnets.delete_subnet(session, ctx, subnet_id)
    for network_id in _ids(session, Network, project_id):
        networks.delete_network(session, ctx, network_id)
    session.execute(delete(DefaultSecurityGroup).where(DefaultSecurityGroup.project_id == project_id))
    for group_id in _ids(session, SecurityGroup, project_id):
        secgroups.delete_security_group(session, ctx, group_id)
    for pool_id in _ids(session, SubnetPool, project_id):
        subnetpools.delete_subnetpool(session, ctx, pool_id)
    for scope_id in _ids(session, AddressScope, project_id):  # after its pools, which it may hold
        addressscopes.delete_address_scope(session, ctx, scope_id)
