"""Model changes committed the way the model commits them (row and outbox row in one transaction),
for syncer tests that write the store directly."""

from __future__ import annotations

from ovnet.model import networks, subnets
from ovnet.model.common import Defaults, record_change
from ovnet.model.schema import IPAllocation, Network, Port, Subnet
from ovnet.model.tenancy import Context


def change(store, *rows):
    """Commit ``rows`` with their outbox rows in one transaction, as the model does."""
    with store.session() as session:
        for row in rows:
            session.add(row)
            session.flush()
            record_change(session, row)


def network_with_port(store, ip="10.0.0.5"):
    """A network, an IPv4 subnet and a port with fixed IP ``ip``, each committed with its outbox row."""
    net = Network(project_id="p1", name="blue", mtu=1442)
    change(store, net)
    sub = Subnet(project_id="p1", network_id=net.id, cidr="10.0.0.0/24", ip_version=4, gateway_ip="10.0.0.1")
    change(store, sub)
    port = Port(project_id="p1", network_id=net.id, mac_address="fa:16:3e:00:00:05",
                fixed_ips=[IPAllocation(subnet_id=sub.id, ip_address=ip)])
    change(store, port)
    return net, sub, port


def public_network(session, defaults: Defaults) -> Network:
    """The external flat network "public" (physical network "public") and its subnet 10.50.50.0/24,
    made through the model by the admin in ``session`` (flushed, not committed)."""
    admin = Context("admin", is_admin=True)
    public = networks.create_network(session, admin, {"name": "public", "router:external": True,
                                                      "provider:network_type": "flat",
                                                      "provider:physical_network": "public"}, defaults)
    session.flush()
    subnets.create_subnet(session, admin, {"network_id": public.id, "cidr": "10.50.50.0/24", "ip_version": 4})
    return public
