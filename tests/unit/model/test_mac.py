"""MAC addresses: generated under the configured prefix, unique per network by constraint."""

from __future__ import annotations

import pytest

from ovnet.model import networks, ports
from ovnet.model.common import Defaults
from ovnet.model.tenancy import Context

ADMIN = Context("admin-project", is_admin=True)


@pytest.mark.dialect
def test_generated_macs_collide_often_under_a_long_prefix_and_retries_keep_them_unique(store):
    # 5 fixed octets leave 256 MACs: collisions among 40 ports are near certain, so this passes only
    # if the unique constraint refuses the duplicate and Store.run retries with a new MAC.
    defaults = Defaults(mac_prefix="02:00:00:00:07")
    net_id = store.run(lambda s: networks.create_network(s, ADMIN, {}, defaults).id)
    macs = [store.run(lambda s: ports.create_port(s, ADMIN, {"network_id": net_id}, defaults).mac_address)
            for _ in range(40)]
    assert len(set(macs)) == 40 and all(m.startswith("02:00:00:00:07:") for m in macs)


@pytest.mark.parametrize("prefix", ["01:00:5e", "fa:16:3e:00:00:00", "xx", "FA-16-3E"])
def test_bad_mac_prefixes_are_refused(prefix):
    with pytest.raises(ValueError):
        Defaults(mac_prefix=prefix)


def test_short_prefixes_leave_more_random_octets(store):
    defaults = Defaults(mac_prefix="fa:16")
    net_id = store.run(lambda s: networks.create_network(s, ADMIN, {}, defaults).id)
    mac = store.run(lambda s: ports.create_port(s, ADMIN, {"network_id": net_id}, defaults).mac_address)
    assert mac.startswith("fa:16:") and len(mac.split(":")) == 6
