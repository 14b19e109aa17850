"""The central OVN services: the NB and SB ovsdb-servers and ovn-northd."""

from __future__ import annotations

from pathlib import Path

from ovnet.config import Settings
from ovnet.runtime.daemon import Service
from ovnet.runtime.process import run

OVN_SCHEMA_DIR = Path("/usr/share/ovn")


def ensure_db(db: Path, schema: Path) -> None:
    """Create the OVSDB file ``db`` from ``schema`` if missing, or convert it if the schema is newer."""
    db.parent.mkdir(parents=True, exist_ok=True)
    if not db.exists():
        run(["ovsdb-tool", "create", str(db), str(schema)])
    elif run(["ovsdb-tool", "needs-conversion", str(db), str(schema)]).strip() == "yes":
        run(["ovsdb-tool", "convert", str(db), str(schema)])


def list_dbs_probe(remote: str, expected: str):
    """A health probe: ``ovsdb-client list-dbs REMOTE`` answers and serves ``expected``."""

    def probe() -> str | None:
        dbs = run(["ovsdb-client", "--timeout=2", "list-dbs", remote], timeout=3).split()
        return None if expected in dbs else f"{expected} not served at {remote}"

    return probe


def _nb_sb(settings: Settings, which: str, port: int, schema: str, dbname: str) -> Service:
    rundir = settings.ovn_rundir
    db = settings.db_dir / f"ovn{which}_db.db"
    sock = rundir / f"ovn{which}_db.sock"
    name = f"ovsdb-{which}"
    return Service(
        name=name,
        argv=["ovsdb-server", str(db), f"--remote=punix:{sock}",
              f"--remote=ptcp:{port}:{settings.listen_host}",
              f"--pidfile={rundir / (name + '.pid')}", f"--log-file={settings.log_dir / (name + '.log')}",
              f"--unixctl={rundir / (name + '.ctl')}", "--detach", "--no-chdir"],
        pidfile=rundir / f"{name}.pid",
        log=settings.log_dir / f"{name}.log",
        endpoint=f"tcp:{settings.listen_host}:{port}",
        health=list_dbs_probe(f"unix:{sock}", dbname),
        ports=[(port, f"OVN {which.upper()} DB (--{which}-port)")],
        before=lambda: ensure_db(db, OVN_SCHEMA_DIR / schema),
    )


def central_services(settings: Settings) -> list[Service]:
    """NB ovsdb-server, SB ovsdb-server and ovn-northd, in start order."""
    rundir = settings.ovn_rundir
    ctl = rundir / "ovn-northd.ctl"

    def northd_probe() -> str | None:
        out = run(["ovn-appctl", "-t", str(ctl), "status"], timeout=3)
        return None if "active" in out else out.strip()

    northd = Service(
        name="ovn-northd",
        argv=["ovn-northd", f"--ovnnb-db=unix:{rundir / 'ovnnb_db.sock'}",
              f"--ovnsb-db=unix:{rundir / 'ovnsb_db.sock'}", f"--pidfile={rundir / 'ovn-northd.pid'}",
              f"--log-file={settings.log_dir / 'ovn-northd.log'}", f"--unixctl={ctl}", "--detach", "--no-chdir"],
        pidfile=rundir / "ovn-northd.pid",
        log=settings.log_dir / "ovn-northd.log",
        endpoint=str(ctl),
        health=northd_probe,
    )
    return [
        _nb_sb(settings, "nb", settings.nb_port, "ovn-nb.ovsschema", "OVN_Northbound"),
        _nb_sb(settings, "sb", settings.sb_port, "ovn-sb.ovsschema", "OVN_Southbound"),
        northd,
    ]
