"""``ovnet sync [--check]``: compare OVN NB with the model, or repair it, in this process.

It reads the model store (``settings.sql_url``) and NB (``settings.nb_connection``) directly, so it
works while ovnet-server is down; a running server's own reconcile does the same job on its timer.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ovnet.config import load_settings
from ovnet.model.store import Store
from ovnet.ovn.nb import NbUnavailable
from ovnet.ovn.syncer import Syncer


def sync(
    state_dir: Path = typer.Option(None, "--state-dir", envvar="OVNET_STATE_DIR",
                                   help="State directory (default /var/lib/ovnet)."),
    check: bool = typer.Option(False, "--check", help="Only print the drift; exit 1 if there is any."),
) -> None:
    """Converge OVN NB to the model (create missing rows, fix stale ones, delete ovnet-owned rows
    the model no longer has; rows without ovnet's external_ids are never touched).

    Example: ovnet sync --check || ovnet sync
    """
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    settings = load_settings(state_dir)
    store = Store(settings.sql_url)
    syncer = Syncer(store, settings)
    try:
        lines = syncer.drift() if check else syncer.repair()
    except NbUnavailable as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    finally:
        syncer.stop()
        store.dispose()
    for line in lines:
        out.print(line, markup=False, highlight=False)
    if check:
        out.print(f"{len(lines)} difference(s) between OVN NB and the model" if lines else "NB is in sync")
        if lines:
            raise typer.Exit(1)
    else:
        out.print(f"repaired {len(lines)} difference(s)" if lines else "nothing to repair; NB is in sync")
