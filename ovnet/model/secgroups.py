"""Security groups and ports' memberships (Neutron API v2.0 "Security groups", extensions
"security-group", "stateful-security-group", "port-security").

Every project has one group named ``default``, made on the project's first use (as Neutron's
_ensure_default_security_group) with Neutron's default rules: egress to anywhere for IPv4 and IPv6,
ingress from members of the same group for IPv4 and IPv6. Any other new group starts with the two
egress rules. A port with port security gets ``default`` unless ``security_groups`` says otherwise.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ovnet.model import attributes, quotas
from ovnet.model.common import Defaults, assign, get_owned, get_visible, record_change, record_update
from ovnet.model.errors import Conflict, NotFound
from ovnet.model.prepared import Prepared
from ovnet.model.schema import (
    DefaultSecurityGroup,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    new_id,
)
from ovnet.model.sgrules import add_rule
from ovnet.model.tenancy import Context, owner_project

DEFAULT = "default"
COLUMNS = {"name": "name", "description": "description", "stateful": "stateful"}
# device_owner prefixes of ports Neutron gives no default group (routers, DHCP, floating IPs).
NO_DEFAULT_GROUP_PREFIX = "network:"


def _egress_rules(session: Session, group: SecurityGroup) -> None:
    for ethertype in ("IPv4", "IPv6"):
        add_rule(session, group, direction="egress", ethertype=ethertype)


def ensure_default(session: Session, project_id: str) -> SecurityGroup:
    """The project's ``default`` group, created with Neutron's default rules when missing.

    Two first uses racing: the loser's flush violates default_security_groups' primary key, and
    Store.run retries its transaction, which then finds the winner's group.
    """
    found = session.scalar(select(SecurityGroup).join(
        DefaultSecurityGroup, DefaultSecurityGroup.security_group_id == SecurityGroup.id)
        .where(DefaultSecurityGroup.project_id == project_id))
    if found is not None:
        return found
    group = SecurityGroup(id=new_id(), project_id=project_id, name=DEFAULT, description="Default security group",
                          stateful=True, tags=[])
    session.add(group)
    session.flush()  # the marker's foreign key needs the group row first (no ORM relationship orders them)
    session.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
    session.flush()
    _egress_rules(session, group)
    for ethertype in ("IPv4", "IPv6"):
        add_rule(session, group, direction="ingress", ethertype=ethertype, remote_group_id=group.id)
    record_change(session, group)
    return group


# Built once (each port create runs it): see prepared.py.
_DEFAULT_GROUP = Prepared(select(DefaultSecurityGroup.security_group_id).where(
    DefaultSecurityGroup.project_id == bindparam("project_id")))


def default_group_id(session: Session, project_id: str) -> str:
    """The id of the project's ``default`` group (ensure_default's, made if missing). Nearly
    always it exists: then this is one primary-key read of its marker row, no ORM entity."""
    found = _DEFAULT_GROUP.scalar(session, {"project_id": project_id})
    return found if found is not None else ensure_default(session, project_id).id


def prepare_list(session: Session, ctx: Context) -> None:
    """Before a listing: the caller's project gets its ``default`` group (Neutron does the same)."""
    if ctx.project_id:
        ensure_default(session, ctx.project_id)


def _is_default(session: Session, group: SecurityGroup) -> bool:
    marker = session.get(DefaultSecurityGroup, group.project_id)
    return marker is not None and marker.security_group_id == group.id


def _in_use(session: Session, group_id: str) -> bool:
    return session.scalar(select(PortSecurityGroup.port_id).where(
        PortSecurityGroup.security_group_id == group_id).limit(1)) is not None


def create_security_group(session: Session, ctx: Context, body: object, defaults: Defaults) -> SecurityGroup:
    """Create a group with the two egress rules. Conflict SecurityGroupDefaultAlreadyExists for the
    name ``default``, OverQuota past the project's ``security_group`` quota (its ``default`` group
    counts, as in Neutron, but is never refused); Forbidden when a member names another project."""
    values = attributes.validate(attributes.SECURITY_GROUP, "security_group", body, create=True)
    project_id = owner_project(ctx, values, "security_group")
    ensure_default(session, project_id)
    quotas.check(session, project_id, "security_group", defaults.quotas)
    if values["name"] == DEFAULT:
        raise Conflict("Default security group already exists.", "SecurityGroupDefaultAlreadyExists", "name")
    group = SecurityGroup(id=new_id(), project_id=project_id, tags=list(values["tags"]))
    assign(group, values, COLUMNS)
    session.add(group)
    session.flush()
    _egress_rules(session, group)
    record_change(session, group)
    return group


def update_security_group(session: Session, ctx: Context, group_id: str, body: object) -> SecurityGroup:
    """Update name, description, stateful. Conflict SecurityGroupCannotUpdateDefault when renaming
    ``default`` (or naming another group so), SecurityGroupInUse when changing ``stateful`` of a
    group ports use (Neutron API: stateful "can be changed only if not in use")."""
    values = attributes.validate(attributes.SECURITY_GROUP, "security_group", body, create=False)
    group = get_owned(session, ctx, SecurityGroup, group_id, "update_security_group")
    if "name" in values and values["name"] != group.name and DEFAULT in (values["name"], group.name):
        raise Conflict("Updating default security group not allowed.", "SecurityGroupCannotUpdateDefault", "name")
    if "stateful" in values and values["stateful"] != group.stateful and _in_use(session, group.id):
        raise Conflict(f"Security Group {group.id} in use.", "SecurityGroupInUse", "stateful")
    if assign(group, values, COLUMNS):
        record_update(session, group)
    return group


def delete_security_group(session: Session, ctx: Context, group_id: str) -> None:
    """Delete a group with its rules (and the rules of other groups naming it as remote group).

    Conflict SecurityGroupInUse when a port uses it; SecurityGroupCannotRemoveDefault when a member
    deletes its ``default`` group (an admin may, as in Neutron).
    """
    group = get_owned(session, ctx, SecurityGroup, group_id, "delete_security_group")
    if _is_default(session, group) and not ctx.is_admin:
        raise Conflict("Insufficient rights for removing default security group.",
                       "SecurityGroupCannotRemoveDefault")
    if _in_use(session, group.id):
        raise Conflict(f"Security Group {group.id} in use.", "SecurityGroupInUse")
    # Groups whose rules name this one as remote group lose those rules: their rows change too.
    for referrer in session.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(
            select(SecurityGroupRule.security_group_id).where(SecurityGroupRule.remote_group_id == group.id)),
            SecurityGroup.id != group.id)):
        record_update(session, referrer)
    record_change(session, group)
    session.delete(group)


def _groups_for_port(session: Session, ctx: Context, project_id: str, ids: list[str]) -> list[str]:
    for group_id in ids:
        group = get_visible(session, ctx, SecurityGroup, group_id)
        if group.project_id != project_id:
            # Neutron looks a port's groups up in the port's project only.
            raise NotFound(f"Security group {group_id} does not exist", "SecurityGroupNotFound", "security_groups")
    return ids


def _require_port_security(port: Port, ids: list[str]) -> None:
    if ids and not port.port_security_enabled:
        raise Conflict("Port security must be enabled and port must have an IP address in order to use "
                       "security groups.", "PortSecurityAndIPRequiredForSecurityGroups", "security_groups")


def _bind(session: Session, port: Port, ids: list[str]) -> bool:
    before = [b.security_group_id for b in port.security_group_bindings]
    if sorted(before) == sorted(ids):
        return False
    for binding in list(port.security_group_bindings):
        if binding.security_group_id not in ids:
            port.security_group_bindings.remove(binding)
    for group_id in ids:
        if group_id not in before:
            port.security_group_bindings.append(PortSecurityGroup(security_group_id=group_id))
    # No change record for the groups: a Port_Group's members are written from the port's side
    # (ovn/acls.py, the port's own change), so the groups' NB rows do not change.
    return True


def attach_on_create(session: Session, ctx: Context, port: Port, requested: list[str] | None,
                     default_groups: dict[str, str] | None = None) -> None:
    """Give a new port its groups: ``requested`` (ids of groups of the port's project), or the
    project's ``default`` when None and the port has port security and is not a network:* port.

    Conflict PortSecurityAndIPRequiredForSecurityGroups when groups are asked for a port without
    port security; NotFound SecurityGroupNotFound for a group that is not the port's project's.
    ``default_groups`` ({project id: group id}) remembers default groups across the ports of one
    request.
    """
    if requested is None:
        if not port.port_security_enabled or (port.device_owner or "").startswith(NO_DEFAULT_GROUP_PREFIX):
            return
        # The port's project's own default group: visible to ``ctx`` and of the port's project
        # by construction, so it skips _groups_for_port's lookups.
        known = {} if default_groups is None else default_groups
        if port.project_id not in known:
            known[port.project_id] = default_group_id(session, port.project_id)
        _bind(session, port, [known[port.project_id]])
        return
    _require_port_security(port, requested)
    _bind(session, port, _groups_for_port(session, ctx, port.project_id, requested))


def attach_on_update(session: Session, ctx: Context, port: Port, requested: list[str] | None,
                     security_was_on: bool) -> bool:
    """Apply an update's ``security_groups`` (None: not in the request) after the port's
    ``port_security_enabled`` was set; True if the memberships changed.

    Turning port security off while the port keeps groups: Conflict PortSecurityPortHasSecurityGroup.
    Turning it back on without naming groups gives a port that has none the ``default`` group again.
    """
    current = [b.security_group_id for b in port.security_group_bindings]
    if requested is None:
        if not port.port_security_enabled and current:
            raise Conflict("Port has security group associated. Cannot disable port security or IP address "
                           "until security group is removed", "PortSecurityPortHasSecurityGroup",
                           "port_security_enabled")
        if port.port_security_enabled and not security_was_on and not current:
            return _bind(session, port, [ensure_default(session, port.project_id).id])
        return False
    _require_port_security(port, requested)
    return _bind(session, port, _groups_for_port(session, ctx, port.project_id, requested))
