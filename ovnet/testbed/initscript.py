"""The shell scripts of the test VM's initramfs (busybox ash), and the console lines they print.

``/init`` reads the VM's name and NIC count from the kernel command line (``ovnet.name=NAME
ovnet.nics=N``), loads the virtio modules in order, runs udhcpc on every NIC (eth0, eth1, ...), a
shell on the virtio console port (for ovnet.testbed.guest) and serves the echo port: a client that
sends N bytes and half-closes gets ``NAME N`` back (the TCP protocol of ovnet.testbed.echo).
``/etc/probe.sh`` is ovnet.testbed.echo's probe for a VM source (see PROBE_SCRIPT). Every line
meant for a reader starts with ``ovnet-vm:`` on the console (ttyS0), so tests and the CLI can
follow a boot in the console log.
"""

from __future__ import annotations

CONSOLE_TAG = "ovnet-vm:"
LINE_INIT = f"{CONSOLE_TAG} init"  # + " name=NAME"
LINE_LEASE = f"{CONSOLE_TAG} lease"  # + " ip=A mask=N router=R mtu=M dns=S,S routes=DEST,GW,... dev=ethN"
LINE_READY = f"{CONSOLE_TAG} ready"  # echo service listening

def init_script(echo_port: int) -> str:
    """``/init`` with the echo service on TCP ``echo_port``."""
    return f"""#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
name=vm
nics=1
for arg in $(cat /proc/cmdline); do
    case "$arg" in
    ovnet.name=*) name="${{arg#ovnet.name=}}" ;;
    ovnet.nics=*) nics="${{arg#ovnet.nics=}}" ;;
    esac
done
hostname "$name"
echo "$name" > /etc/name
echo "{LINE_INIT} name=$name"
while read -r module; do
    insmod "/lib/modules/$module.ko" || echo "{CONSOLE_TAG} insmod $module failed"
done < /lib/modules/order
ip link set lo up
# ARP from a NIC with that NIC's own address (OVN's port security drops any other sender address):
# by default Linux takes the address of the packet waiting for the ARP, so a two-NIC guest that
# answers by one NIC for its other address would leave that neighbour unresolved for every reply.
echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce
last=eth$((nics - 1))
tries=0
while [ ! -e /sys/class/net/$last ] && [ $tries -lt 100 ]; do sleep 0.05; tries=$((tries + 1)); done
for nic in $(seq 0 $((nics - 1))); do ip link set eth$nic up; done
nc -ll -p {echo_port} -e /etc/echo.sh &
# The guest shell (ovnet.testbed.guest): sh on the virtio console port, no echo, no prompt.
(
    while true; do
        if [ -e /dev/hvc0 ]; then
            stty -F /dev/hvc0 -echo -onlcr
            PS1= PS2= sh < /dev/hvc0 > /dev/hvc0 2>&1
        else
            sleep 0.05
        fi
    done
) &
echo "{LINE_READY} echo=tcp/{echo_port}"
# One DISCOVER a second, on all NICs at once; udhcpc keeps trying until it has a lease.
for nic in $(seq 0 $((nics - 1))); do
    udhcpc -i eth$nic -s /etc/udhcpc.sh -O mtu -O staticroutes -t 3 -T 1 -A 1 -b &
done
while true; do sleep 86400; done
"""

# udhcpc(8) hands the lease over in the environment: $ip, $mask (prefix length), $router, $mtu,
# $staticroutes ("dest/len gw ..."). RFC 3442: with classless static routes the router option is
# ignored, so the default route then comes from those routes. Only eth0 may set the default
# route: each subnet offers its own gateway, and a second NIC's would replace the first one's.
UDHCPC_SCRIPT = f"""#!/bin/sh
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ;;
bound|renew)
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$staticroutes" ]; then
        set -- $staticroutes
        while [ $# -ge 2 ]; do
            if [ "$1" != 0.0.0.0/0 ] || [ "$interface" = eth0 ]; then
                ip route replace "$1" via "$2" dev "$interface"
            fi
            shift 2
        done
    elif [ -n "$router" ] && [ "$interface" = eth0 ]; then
        ip route replace default via "${{router%% *}}" dev "$interface"
    fi
    routes=$(echo $staticroutes | tr ' ' ,)
    servers=$(echo $dns | tr ' ' ,)
    echo "{LINE_LEASE} ip=$ip mask=$mask router=$router mtu=$mtu dns=$servers routes=$routes dev=$interface"
    ;;
esac
"""

# The same TCP protocol as the namespace workloads' echo server (ovnet.testbed.echo): read until
# the peer half-closes, answer "NAME <bytes received>".
ECHO_SCRIPT = """#!/bin/sh
received=$(wc -c)
printf '%s %d' "$(cat /etc/name)" "$received"
"""


# ``/etc/probe.sh IF PORT SECONDS ADDR...``: ovnet.testbed.echo's probe run inside a VM. Per ADDR, in
# parallel, one line "ADDR PING NAME": PING 1 when a ping sent from IF (bound to it) is answered
# within SECONDS; NAME what the TCP echo at ADDR says when queried from IF ("-": nothing). Busybox
# nc cannot bind to an interface, so the query takes the route the kernel gives a socket bound to
# IF (``ip route get ADDR oif IF``, what SO_BINDTODEVICE does): none -> "-" at once; a route via
# another NIC is overridden by a /32 route via IF for the query's lifetime (so, meanwhile, the
# VM's replies to ADDR take that route too: probe from one NIC at a time, while nobody probes
# the VM). ADDRs must be distinct (their /32 routes would collide).
PROBE_SCRIPT = """#!/bin/sh
ifname=$1 port=$2 seconds=$3
shift 3
one() {
    addr=$1 name=-
    # Three tries so that one lost packet is no "unreachable"; no -w: busybox then fails unless
    # all three come back. -W bounds the wait after the last one when none came back.
    ping -q -c 3 -i 0.2 -W "$seconds" -I "$ifname" "$addr" >/dev/null 2>&1 &
    pinger=$!
    if route=$(ip route get "$addr" oif "$ifname" 2>/dev/null); then
        pinned=
        case "$(ip route get "$addr")" in
        *" dev $ifname "*) ;;
        *)
            gateway=$(echo "$route" | sed -n 's/.* via \\([0-9.]*\\) .*/\\1/p')
            ip route add "$addr/32" ${gateway:+via "$gateway"} dev "$ifname" && pinned=1
            ;;
        esac
        reply=$(timeout $((seconds + 5)) nc -w "$seconds" "$addr" "$port" </dev/null 2>/dev/null)
        [ -n "$pinned" ] && ip route del "$addr/32" dev "$ifname"
        [ -n "$reply" ] && name=${reply% *}
    fi
    wait $pinger && answered=1 || answered=0
    echo "$addr $answered $name"
}
for addr in "$@"; do one "$addr" & done
wait
"""
