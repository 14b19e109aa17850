"""The shell scripts of the test VM's initramfs (busybox ash), and the console lines they print.

``/init`` reads the VM's name from the kernel command line (``ovnet.name=NAME``), loads the virtio
modules in order, runs udhcpc on eth0, a shell on the virtio console port (for
ovnet.testbed.guest) and serves the echo port: a client that sends N bytes and
half-closes gets ``NAME N`` back (the TCP protocol of ovnet.testbed.echo). Every line meant for a reader starts with ``ovnet-vm:`` on the
console (ttyS0), so tests and the CLI can follow a boot in the console log.
"""

from __future__ import annotations

CONSOLE_TAG = "ovnet-vm:"
LINE_INIT = f"{CONSOLE_TAG} init"  # + " name=NAME"
LINE_LEASE = f"{CONSOLE_TAG} lease"  # + " ip=A mask=N router=R mtu=M dns=S,S routes=DEST,GW,DEST,GW..."
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
for arg in $(cat /proc/cmdline); do
    case "$arg" in ovnet.name=*) name="${{arg#ovnet.name=}}" ;; esac
done
hostname "$name"
echo "$name" > /etc/name
echo "{LINE_INIT} name=$name"
while read -r module; do
    insmod "/lib/modules/$module.ko" || echo "{CONSOLE_TAG} insmod $module failed"
done < /lib/modules/order
ip link set lo up
tries=0
while [ ! -e /sys/class/net/eth0 ] && [ $tries -lt 100 ]; do sleep 0.05; tries=$((tries + 1)); done
ip link set eth0 up
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
# One DISCOVER a second; after 3 unanswered, udhcpc goes on trying in the background.
udhcpc -i eth0 -s /etc/udhcpc.sh -O mtu -O staticroutes -t 3 -T 1 -A 1 -b
while true; do sleep 86400; done
"""

# udhcpc(8) hands the lease over in the environment: $ip, $mask (prefix length), $router, $mtu,
# $staticroutes ("dest/len gw ..."). RFC 3442: with classless static routes the router option is
# ignored, so the default route then comes from those routes.
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
        while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
    elif [ -n "$router" ]; then
        ip route replace default via "${{router%% *}}" dev "$interface"
    fi
    routes=$(echo $staticroutes | tr ' ' ,)
    servers=$(echo $dns | tr ' ' ,)
    echo "{LINE_LEASE} ip=$ip mask=$mask router=$router mtu=$mtu dns=$servers routes=$routes"
    ;;
esac
"""

# The same TCP protocol as the namespace workloads' echo server (ovnet.testbed.echo): read until
# the peer half-closes, answer "NAME <bytes received>".
ECHO_SCRIPT = """#!/bin/sh
received=$(wc -c)
printf '%s %d' "$(cat /etc/name)" "$received"
"""

