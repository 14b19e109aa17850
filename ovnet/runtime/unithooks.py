"""What ``ovnet up``/``down`` do around one service, for systemd units (ovnet.runtime.units):

    python -m ovnet.runtime.unithooks --state-dir D --role R before SERVICE
    python -m ovnet.runtime.unithooks --state-dir D --role R before-stop SERVICE PID

``before`` records the datapath and creates the chassis' network namespace as ``up`` does, makes
the pidfile and log directories and runs the service's own ``before`` (create the OVSDB file,
claim the userspace datapath, configure br-int); ``before-stop`` runs its ``before_stop`` with the
main pid (``ovn-appctl exit``, delete br-int). Exit 1 with one line on stderr when that fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ovnet.config import ROLES, load_settings
from ovnet.runtime import owned
from ovnet.runtime.chassis import local_chassis
from ovnet.runtime.process import RuntimeFailure
from ovnet.runtime.roles import role_services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ovnet-unithooks", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("action", choices=("before", "before-stop"))
    parser.add_argument("service")
    parser.add_argument("pid", nargs="?", type=int)
    args = parser.parse_args(argv)
    settings = load_settings(args.state_dir)
    found = {s.name: s for s in role_services(settings, args.role)}
    if args.service not in found:
        print(f"no service {args.service!r} in role {args.role}", file=sys.stderr)
        return 2
    svc = found[args.service]
    try:
        if args.action == "before":
            if args.role != "central":
                (settings.state_dir / "datapath").write_text(local_chassis(settings).datapath + "\n")
                if settings.netns:
                    owned.ensure_netns(settings.state_dir, settings.netns)
            svc.pidfile.parent.mkdir(parents=True, exist_ok=True)
            svc.log.parent.mkdir(parents=True, exist_ok=True)
            if svc.before:
                svc.before()
        elif svc.before_stop and args.pid:
            svc.before_stop(args.pid)
    except (RuntimeFailure, OSError) as exc:
        print(f"{args.service}: {args.action} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
