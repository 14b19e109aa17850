"""The attach service's order of steps and its rollback at each failure point.

The API, OVS and the plugin are small in-memory stand-ins that record what was asked of them, so
each failure point can be hit exactly; the same paths against real OVS/OVN and namespaces are in
tests/integration/host (test_vif.py, test_agent.py)."""

from __future__ import annotations

import pytest

from ovnet.apiclient import ApiError
from ovnet.host.attach import AttachService
from ovnet.host.errors import BadRequest, BindTimeout, Conflict, NotFound
from ovnet.host.ovs import OvsError, OwnedPort
from ovnet.host.vif import HostContext, Vif

PORT_ID = "0b5e3f4c-1111-4222-8333-444455556666"
BOUND = {"port": {"id": PORT_ID, "mac_address": "fa:16:3e:00:00:07", "network_id": "n",
                  "fixed_ips": [{"subnet_id": "s", "ip_address": "10.0.0.7"}]},
         "network": {"id": "n", "mtu": 1442},
         "subnets": [{"id": "s", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1", "host_routes": []}],
         "changed": True}


class FakeApi:
    def __init__(self, bind_error: ApiError | None = None, unbind_error: ApiError | None = None, changed=True):
        self.calls: list[tuple] = []
        self.bind_error, self.unbind_error, self.changed = bind_error, unbind_error, changed

    def bind_port_host(self, port_id: str, host: str) -> dict:
        self.calls.append(("bind", port_id, host))
        if self.bind_error:
            raise self.bind_error
        return {**BOUND, "changed": self.changed}

    def update_port(self, port_id: str, **changes) -> dict:
        self.calls.append(("update", port_id, changes))
        if self.unbind_error:
            raise self.unbind_error
        return {}


class FakeOvs:
    def __init__(self, installed=True, owned: OwnedPort | None = None):
        self.installed, self.owned = installed, owned

    def port_by_id(self, port_id: str) -> OwnedPort | None:
        return self.owned

    def wait_installed(self, port_id: str, timeout: float) -> bool:
        if isinstance(self.installed, BaseException):
            raise self.installed
        return self.installed


class FakeVeth(Vif):
    kind = "veth"
    plug_error: BaseException | None = None
    plugged: bool = False

    def __init__(self, host):
        super().__init__(host)
        self.log: list[tuple] = []

    def plug(self, attachment) -> str:
        self.log.append(("plug", attachment))
        if self.plug_error:
            raise self.plug_error
        return "vh-fake"

    def unplug(self, port_id: str, final: bool = False) -> None:
        self.log.append(("unplug final" if final else "unplug", port_id))

    def is_plugged(self, port_id: str) -> bool:
        return self.plugged

    def holds(self, owned: OwnedPort, target: str, ifname: str) -> bool:
        return (target, ifname) == ("ns1", "eth0")  # what the devices say: plugged into ns1 as eth0


def service(api=None, ovs=None, plug_error=None, plugged=False) -> tuple[AttachService, FakeApi, FakeVeth]:
    api = api or FakeApi()
    host = HostContext(ovs=ovs or FakeOvs(), netns=None, datapath="system")
    cls = type("Veth", (FakeVeth,), {"plug_error": plug_error, "plugged": plugged})
    svc = AttachService(host, api, "chassis-1", bind_timeout=0.01, plugins={"veth": cls})
    return svc, api, svc.plugin("veth")


def test_an_attach_binds_once_plugs_a_typed_attachment_and_waits():
    svc, api, veth = service()
    attached = svc.attach(PORT_ID, "veth", "ns1", ifname="eth3")
    assert api.calls == [("bind", PORT_ID, "chassis-1")]  # one round-trip, no separate reads
    (step, attachment), = veth.log
    assert step == "plug" and (attachment.target, attachment.ifname, attachment.mtu) == ("ns1", "eth3", 1442)
    assert attached.device == "vh-fake" and attached.attachment == attachment
    assert svc.busy() == set()


@pytest.mark.parametrize("kind, target, ifname", [("macvtap", "ns1", "eth0"), ("veth", "", "eth0"),
                                                  ("veth", "ns1", "a/b"), ("veth", "ns1", "")])
def test_a_bad_request_writes_nothing(kind, target, ifname):
    svc, api, veth = service()
    with pytest.raises(BadRequest):
        svc.attach(PORT_ID, kind, target, ifname=ifname)
    assert api.calls == [] and veth.log == []


@pytest.mark.parametrize("status, error", [(404, NotFound), (409, Conflict)])
def test_a_refused_bind_plugs_nothing_and_has_nothing_to_undo(status, error):
    svc, api, veth = service(FakeApi(bind_error=ApiError(status, "X", "refused")))
    with pytest.raises(error):
        svc.attach(PORT_ID, "veth", "ns1")
    assert api.calls == [("bind", PORT_ID, "chassis-1")] and veth.log == []


@pytest.mark.parametrize("failure", [Conflict("ifname taken"), BadRequest("no such netns"), OvsError("ofport -1")])
def test_a_failed_plug_is_unplugged_and_unbound(failure):
    svc, api, veth = service(plug_error=failure)
    with pytest.raises(type(failure)):
        svc.attach(PORT_ID, "veth", "ns1")
    assert [s for s, _ in veth.log] == ["plug", "unplug"]
    assert api.calls[-1] == ("update", PORT_ID, {"binding:host_id": ""})


def test_the_ovn_installed_timeout_is_unplugged_and_unbound():
    svc, api, veth = service(ovs=FakeOvs(installed=False))
    with pytest.raises(BindTimeout, match="rolled back"):
        svc.attach(PORT_ID, "veth", "ns1")
    assert [s for s, _ in veth.log] == ["plug", "unplug"]
    assert api.calls[-1] == ("update", PORT_ID, {"binding:host_id": ""})


@pytest.mark.parametrize("failure", [KeyboardInterrupt(), OvsError("could not open vh-fake")])
def test_an_interrupt_or_a_bad_interface_while_waiting_is_rolled_back_too(failure):
    svc, api, veth = service(ovs=FakeOvs(installed=failure))
    with pytest.raises(type(failure)):
        svc.attach(PORT_ID, "veth", "ns1")
    assert [s for s, _ in veth.log] == ["plug", "unplug"]
    assert api.calls[-1] == ("update", PORT_ID, {"binding:host_id": ""})
    assert svc.busy() == set()


def test_keep_binding_leaves_the_callers_binding_on_failure():
    svc, api, veth = service(ovs=FakeOvs(installed=False))
    with pytest.raises(BindTimeout):
        svc.attach(PORT_ID, "veth", "ns1", keep_binding=True)
    assert [s for s, _ in veth.log] == ["plug", "unplug"]
    assert [c[0] for c in api.calls] == ["bind"]


def test_a_port_deleted_meanwhile_needs_no_unbinding():
    svc, api, veth = service(FakeApi(unbind_error=ApiError(404, "PortNotFound", "gone")), plug_error=Conflict("x"))
    with pytest.raises(Conflict, match="x"):
        svc.attach(PORT_ID, "veth", "ns1")
    assert [s for s, _ in veth.log] == ["plug", "unplug"]


def test_a_port_plugged_here_as_another_kind_is_a_conflict_before_binding():
    owned = OwnedPort("tap1", PORT_ID, "tap", "fa:16:3e:00:00:07", True)
    svc, api, veth = service(ovs=FakeOvs(owned=owned))
    with pytest.raises(Conflict, match="as tap"):
        svc.attach(PORT_ID, "veth", "ns1")
    assert api.calls == [] and veth.log == []


def test_attaching_again_what_is_bound_and_plugged_here_only_waits():
    owned = OwnedPort("vh1", PORT_ID, "veth", "fa:16:3e:00:00:07", True)
    svc, api, veth = service(FakeApi(changed=False), ovs=FakeOvs(owned=owned), plugged=True)
    assert svc.attach(PORT_ID, "veth", "ns1").device == "vh1"
    assert veth.log == []


def test_attaching_again_into_another_target_is_a_conflict_before_binding():
    # `ovnet port bind p1 --netns other` once answered "bound" and moved nothing (new-user finding)
    owned = OwnedPort("vh1", PORT_ID, "veth", "fa:16:3e:00:00:07", True, target="ns1/eth0")
    for target, ifname in (("ns2", "eth0"), ("ns1", "eth5"), ("nosuchns", "eth0")):
        svc, api, veth = service(FakeApi(changed=False), ovs=FakeOvs(owned=owned), plugged=True)
        with pytest.raises(Conflict, match="into ns1/eth0"):
            svc.attach(PORT_ID, "veth", target, ifname=ifname)
        assert api.calls == [] and veth.log == []
    svc, api, veth = service(FakeApi(changed=False), ovs=FakeOvs(owned=owned), plugged=True)
    assert svc.attach(PORT_ID, "veth", "ns1").device == "vh1"


def test_without_a_recorded_target_the_devices_tell_a_repeat_from_another_target():
    # An OVS port the agent's reconcile re-added carries no target: the plugin reads the devices.
    owned = OwnedPort("vh1", PORT_ID, "veth", "fa:16:3e:00:00:07", True)
    for target, ifname in (("ns2", "eth0"), ("ns1", "eth5")):
        svc, api, veth = service(FakeApi(changed=False), ovs=FakeOvs(owned=owned), plugged=True)
        with pytest.raises(Conflict, match="into another target; unbind it first"):
            svc.attach(PORT_ID, "veth", target, ifname=ifname)
        assert api.calls == [] and veth.log == []
    # A record naming the same namespace differently (by path) defers to the devices as well.
    recorded = OwnedPort("vh1", PORT_ID, "veth", "fa:16:3e:00:00:07", True, target="/run/netns/ns1/eth0")
    svc, api, veth = service(FakeApi(changed=False), ovs=FakeOvs(owned=recorded), plugged=True)
    assert svc.attach(PORT_ID, "veth", "ns1").device == "vh1"


def test_one_port_is_attached_by_one_caller_at_a_time():
    svc, api, veth = service()
    with svc._in_flight(PORT_ID):
        assert svc.busy() == {PORT_ID}
        with pytest.raises(Conflict, match="right now"):
            svc.attach(PORT_ID, "veth", "ns1")
        with pytest.raises(Conflict):
            svc.with_plugin("veth", FakeVeth).detach(PORT_ID, unbind=False)  # siblings share the set
    assert api.calls == []


def test_detach_unplugs_and_unbinds_only_when_asked():
    owned = OwnedPort("vh1", PORT_ID, "veth", "fa:16:3e:00:00:07", True)
    svc, api, veth = service(ovs=FakeOvs(owned=owned))
    svc.detach(PORT_ID, unbind=False)
    assert veth.log == [("unplug", PORT_ID)] and api.calls == []
    svc.detach(PORT_ID, unbind=True)
    assert api.calls == [("update", PORT_ID, {"binding:host_id": ""})]
    svc.detach(PORT_ID, unbind=False, final=True)  # the port is being deleted: no vswitchd wait
    assert veth.log[-1] == ("unplug final", PORT_ID) and len(api.calls) == 1
