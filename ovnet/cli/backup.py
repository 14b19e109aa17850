"""``ovnet backup FILE`` and ``ovnet restore FILE``: a consistent online copy of the model store,
and putting one back followed by a full NB reconcile (ovnet.model.backup says how, per store).

Like ``ovnet sync`` they open the store (``settings.sql_url``) directly: a backup must not depend
on a running API server, and a restore replaces what every server reads.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import typer
from rich.console import Console

from ovnet.config import load_settings
from ovnet.model import backup as model_backup
from ovnet.model.errors import BadRequest
from ovnet.model.restoreplan import dropped_by_restore
from ovnet.model.store import Store
from ovnet.ovn.nb import NbUnavailable
from ovnet.ovn.syncer import Syncer

STATE_DIR = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR", help="State directory (default /var/lib/ovnet).")


def _fail(err: Console, message: str) -> None:
    err.print(f"[red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(1)


def backup(file: Path = typer.Argument(..., help="Where to write the copy (SQLite file or pg_dump archive)."),
           state_dir: Path = STATE_DIR) -> None:
    """Write a consistent copy of the model store to FILE while ovnet keeps running.

    Example: ovnet backup /var/backups/ovnet-$(date +%F).db
    """
    err = Console(stderr=True, soft_wrap=True)
    store = Store(load_settings(state_dir).sql_url)
    try:
        model_backup.backup(store, file)
    except subprocess.CalledProcessError as exc:
        _fail(err, f"pg_dump failed: {exc.stderr.strip()}")
    except OSError as exc:
        _fail(err, f"cannot write {file}: {exc.strerror or exc}")
    finally:
        store.dispose()
    typer.echo(f"backed up the model to {file}")


def restore(file: Path = typer.Argument(..., help="A copy made by `ovnet backup`."),
            no_sync: bool = typer.Option(False, "--no-sync", help="Leave NB alone (a server's reconcile, or a later "
                                         "`ovnet sync`, converges it)."),
            yes: bool = typer.Option(False, "--yes", help="Restore even when ports bound to a host (a plugged "
                                     "workload) are absent from FILE: their workloads lose their NIC for good."),
            state_dir: Path = STATE_DIR) -> None:
    """Replace the model by the copy in FILE (upgraded to this release's schema), then converge OVN NB
    to it as `ovnet sync` does. First it lists what exists now and is absent from FILE (projects,
    networks, subnets, routers, floating IPs, security groups, ports): that goes. Exit 2, nothing
    changed, when a bound port would go and --yes is not given. Exit 2 when NB is unreachable (the
    model is restored; run `ovnet sync`).

    Example: ovnet restore /var/backups/ovnet-2026-11-30.db
    """
    err = Console(stderr=True, soft_wrap=True)
    settings = load_settings(state_dir)
    store = Store(settings.sql_url)
    try:
        model_backup.check_kind(store, file)
        try:
            dropped = dropped_by_restore(store, file)
        except sqlite3.Error as exc:
            raise BadRequest(f"{file} is not a usable SQLite backup: {exc}") from exc
        bound = [d for d in dropped if d.host]
        if bound and not yes:
            for d in dropped:
                err.print(f"would drop {d.label()}", markup=False, highlight=False)
            err.print(f"[red]error:[/] {len(bound)} bound port(s) are not in {file}; restoring would unplug their "
                      "workloads for good (nothing changed; --yes to restore anyway)", markup=True, highlight=False)
            raise typer.Exit(2)
        model_backup.restore(store, file)
        for d in dropped:
            typer.echo(f"dropped {d.label()}")
        typer.echo(f"restored the model from {file}" + (f" ({len(dropped)} row(s) made since it dropped)"
                                                         if dropped else ""))
        if no_sync:
            return
        syncer = Syncer(store, settings)
        try:
            lines = syncer.repair()
        except NbUnavailable as exc:
            err.print(f"[red]error:[/] NB not repaired: {exc}; run `ovnet sync` when it is reachable",
                      markup=True, highlight=False)
            raise typer.Exit(2) from None
        finally:
            syncer.stop()
        typer.echo(f"repaired {len(lines)} difference(s) in OVN NB" if lines else "OVN NB already matched it")
    except BadRequest as exc:
        _fail(err, exc.message)
    except OSError as exc:
        _fail(err, f"cannot read {file}: {exc.strerror or exc}")
    except subprocess.CalledProcessError as exc:
        _fail(err, f"pg_restore failed (nothing restored): {exc.stderr.strip()}")
    finally:
        store.dispose()
