"""Runs ``openstack`` commands for tests/helpers/osc.py, each in a process of its own forked from
this one, which has imported python-openstackclient once.

A new interpreter per command spent ~1.2 s of CPU importing the client before it sent anything.
A fork shares only those imports: every command still starts with the client's state untouched
(its plugins cache clients on classes, so running commands in one process would leak one
command's endpoints into the next), its own environment, and its stdout/stderr in files.

Protocol, one JSON object per line: the request on stdin ``{"argv", "env", "stdout", "stderr",
"timeout"}`` (the two output paths are written by the command), the answer on stdout ``{"code"}``,
the command's exit status (negative: killed by that signal, e.g. -14 when it ran past
``timeout`` seconds). This process is single-threaded, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback

from openstackclient import shell


def _command(request: dict) -> int:
    """In the forked child: the exit status of ``openstack ARGV`` with the request's env and files."""
    signal.alarm(int(request["timeout"]))
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # never the requests meant for this server
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the process ends with the command
    os.environ.clear()
    os.environ.update(request["env"])
    try:
        return shell.main(request["argv"]) or 0
    except SystemExit as exc:  # argparse refusing the arguments exits, as in the script
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:  # noqa: BLE001 - reported on the command's stderr, as the script would
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def serve() -> None:
    """Answer requests until stdin closes."""
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(_command(request))
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
