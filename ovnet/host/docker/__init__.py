"""Docker on ovnet: a libnetwork remote NetworkDriver and IpamDriver served by the host agent.

Use (``ovnet up`` serves the plugin ``ovnet`` on /run/docker/plugins/ovnet.sock; dockerd must run
in the network namespace of this host's ovs-vswitchd, the root one for ``ovnet up``)::

    docker network create -d ovnet --ipam-driver ovnet --subnet 10.9.0.0/24 [--ipv6 --subnet fd00:9::/64]
        [--gateway G] [--ip-range R] [--aux-address k=A] [--internal] [-o com.docker.network.driver.mtu=N]
        [-o ovnet.project=<project> --ipam-opt ovnet.project=<project>]    a new ovnet network
    docker network create -d ovnet --ipam-driver ovnet -o ovnet.network=<name|id> --subnet <its cidr> NAME
    docker network create -d ovnet --ipam-driver ovnet --ipam-opt ovnet.network=<name|id> NAME
                                                                            an existing one, never deleted
    docker run --network NAME [--ip A] [--ip6 B] [--mac-address M] ...

``protocol`` parses what dockerd sends, ``app`` dispatches calls and maps errors to libnetwork's
wire format, ``server`` serves the app on ``/run/docker/plugins/<name>.sock``; ``ipam`` and
``network`` map the calls onto ovnet's Neutron API through ``catalog``; ``veth`` is the endpoint's
VIF; ``service`` puts it all in the agent with the endpoint GC (``engine`` asks dockerd).
Reference: shared/reference/libnetwork.md.
"""
