#!/usr/bin/python3 -IS
"""ovnet-cni: the CNI plugin executable (``"type": "ovnet"``); Python standard library only.

A runtime (podman, containerd) starts it for every container and, for VERSION, for every network on
nearly every command (cni.md B.4 pitfall 2), so it imports nothing but the standard library, runs
as ``python3 -I -S`` (no site-packages scan) and holds no state: it reads the request (CNI_*
environment variables, the network configuration on stdin), forwards it to the host agent's unix
socket and prints the agent's answer (CNI spec 1.1.0 "Execution model"):

    POST /cni/<verb>  {"env": {CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS,
                               CNI_PATH}, "config": <the request JSON>}
    -> 200 a Result (ADD) or {} (DEL, CHECK, STATUS, GC); else a CNI error object

VERSION is answered here without the agent. Configuration keys read here: ``agent_socket`` (default
/var/lib/ovnet/run/agent.sock) and ``token_file`` (default: the installation's admin-token next to
the socket's run dir, which only root may read). An agent that cannot be reached is error 11 (try
again later), for STATUS 50 (CNI spec 1.1.0 "Error codes").
"""

# Start-up is most of what this process costs (it runs for every container, and VERSION for every
# network on nearly every podman command), so it imports only CPython's own C modules, which are
# built into the interpreter or load as one shared object: socket pulls in enum, selectors and
# math, json pulls in re; together ~30 ms of start-up per call on a loaded machine (measured with
# ``python3 -IS -X importtime``). posix and sys are loaded before any script runs.
import _json
import _socket
import posix
import sys

SUPPORTED_VERSIONS = ["0.4.0", "1.0.0", "1.1.0"]
DEFAULT_SOCKET = "/var/lib/ovnet/run/agent.sock"
ENV_KEYS = ("CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH")
VERBS = ("ADD", "DEL", "CHECK", "STATUS", "GC")
# An ADD waits for ovn-installed (the agent's bind_timeout, 30 s by default): leave room above it.
TIMEOUT_S = 150.0

ERR_INCOMPATIBLE, ERR_ENV, ERR_IO, ERR_DECODE, ERR_CONFIG, ERR_TRY_LATER, ERR_UNAVAILABLE = 1, 4, 5, 6, 7, 11, 50


class CniError(Exception):
    """A CNI error object to print: ``code`` (CNI spec table), ``msg``, ``details``."""

    def __init__(self, code: int, msg: str, details: str = ""):
        super().__init__(msg)
        self.code, self.msg, self.details = code, msg, details


class _Decoding:
    """The settings ``_json.make_scanner`` reads from its context, as json.JSONDecoder() has them
    (NaN and Infinity accepted, as json.loads does)."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int, parse_constant = float, int, float


_scan = _json.make_scanner(_Decoding)
_WHITESPACE = " \t\n\r"  # JSON's (RFC 8259 section 2); str.strip() alone strips more


def loads(data: bytes):
    """json.loads of UTF-8 ``data``; ValueError when it is not one JSON value."""
    text = data.decode().strip(_WHITESPACE)
    try:
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (StopIteration, SystemError):  # _json raises its errors through json.decoder, if loaded
        pass
    import json  # only malformed input pays for it, and gets json's own message
    return json.loads(text)


def dumps(value) -> str:
    """json.dumps of what this plugin writes itself: dicts, lists, str and int (not bool)."""
    if isinstance(value, str):
        return _json.encode_basestring_ascii(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    return "{" + ", ".join(f"{dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"


def _post(sock_path: str, path: str, body: bytes, token: str, timeout: float) -> tuple[int, bytes]:
    """One HTTP/1.1 POST over a unix socket with ``Connection: close``: (status, body). Written
    by hand because http.client pulls in the email package, ~18 ms of start-up per container."""
    head = (f"POST {path} HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
            f"X-Auth-Token: {token}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout)
        conn.connect(sock_path)
        conn.sendall(head.encode() + body)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        conn.close()
    raw = b"".join(chunks)
    header, _, payload = raw.partition(b"\r\n\r\n")
    status_line = header.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise OSError(f"not an HTTP answer: {raw[:80]!r}")
    if b"transfer-encoding: chunked" in header.lower():
        raise OSError("the agent answered chunked, which this client does not read")
    return int(status_line[1]), payload


def _token(config: dict, sock: str) -> str:
    run_dir = sock.rpartition("/")[0]  # os.path.dirname, for the absolute paths a conflist holds
    given = config.get("token_file")
    path = given or f"{run_dir.rpartition('/')[0]}/admin-token"
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise CniError(ERR_CONFIG, *_token_problem(sock, path, bool(given), exc)) from None
    # A header value is visible ASCII (RFC 9110 §5.5): a line break would end _post's header early,
    # so the agent would read the rest as headers of its own (ovnet.credentials, not imported: start-up).
    if not all("!" <= char <= "~" for char in token):
        raise CniError(ERR_CONFIG, f"the agent token file {path} holds a line break, blank or non-ASCII "
                                   f"character inside the token", "tokens are printable ASCII")
    return token


def _token_problem(sock: str, path: str, given: bool, exc: OSError) -> tuple[str, str]:
    """The CNI error msg and details for an unreadable token file: which agent socket it was for,
    where the token was looked for and why there (a socket outside an ovnet state dir, whose
    token is <state>/admin-token beside <state>/run/agent.sock, is the usual cause)."""
    try:
        posix.stat(sock)
        socket_state = f"agent_socket {sock} exists"
    except OSError:
        socket_state = f"agent_socket {sock} does not exist either"
    if given:
        return (f"cannot read token_file {path} (set in the network configuration) for the ovnet agent at {sock}",
                f"{exc.strerror or exc}; {socket_state}")
    return (f"no agent token for agent_socket {sock}: looked for {path}, two levels above the socket, where an "
            f"ovnet state dir keeps it (<state>/run/agent.sock, <state>/admin-token)",
            f"{exc.strerror or exc}; {socket_state}. Point agent_socket at <state>/run/agent.sock of the "
            f"installation (ovnet cni install writes it), or set token_file in the plugin's configuration")


def forward(verb: str, config: dict, raw_config: str, env: dict, timeout: float = TIMEOUT_S) -> bytes:
    """Send one CNI request (``config`` parsed from the JSON object ``raw_config``) to the agent;
    return its JSON answer on success, as it came. Raises CniError: the agent's own error object,
    or 11 (50 for STATUS) when the agent cannot be reached."""
    sock = config.get("agent_socket") or DEFAULT_SOCKET
    # The configuration goes on as it came: re-encoding it would need json's encoder.
    body = f'{{"env": {dumps(env)}, "config": {raw_config}}}'.encode()
    token = _token(config, sock)
    unreachable = ERR_UNAVAILABLE if verb == "STATUS" else ERR_TRY_LATER
    try:
        status, raw = _post(sock, f"/cni/{verb.lower()}", body, token, timeout)
    except OSError as exc:
        raise CniError(unreachable, f"the ovnet agent at {sock} cannot be reached", str(exc)) from None
    try:
        answer = loads(raw or b"{}")
    except ValueError:
        raise CniError(unreachable, f"the ovnet agent at {sock} answered HTTP {status} without JSON",
                       raw[:200].decode(errors="replace")) from None
    if status == 200:
        return raw
    if isinstance(answer, dict) and "code" in answer:
        raise CniError(int(answer["code"]), str(answer.get("msg", "")), str(answer.get("details", "")))
    # Not a CNI error object: the agent's token check (NeutronError), or a server in trouble.
    raise CniError(ERR_TRY_LATER if status >= 500 else ERR_CONFIG,
                   f"the ovnet agent refused the request (HTTP {status})", raw[:300].decode(errors="replace"))


def run(environ: dict, stdin: bytes) -> tuple[int, str | None]:
    """One plugin invocation: (exit status, JSON text to print or None). Never raises."""
    version = "1.0.0"
    try:
        try:
            config = loads(stdin)
        except ValueError as exc:
            raise CniError(ERR_DECODE, "the network configuration on stdin is not JSON", str(exc)) from None
        if not isinstance(config, dict):
            raise CniError(ERR_DECODE, "the network configuration on stdin must be a JSON object")
        version = str(config.get("cniVersion") or "")
        verb = environ.get("CNI_COMMAND", "")
        if verb == "VERSION":  # answered for any asked version: the runtime picks from the list
            return 0, dumps({"cniVersion": version or SUPPORTED_VERSIONS[-1], "supportedVersions": SUPPORTED_VERSIONS})
        if version not in SUPPORTED_VERSIONS:
            asked, version = version, SUPPORTED_VERSIONS[-1]
            raise CniError(ERR_INCOMPATIBLE, f"cniVersion {asked!r} is not supported",
                           f"supported: {', '.join(SUPPORTED_VERSIONS)}")
        if verb not in VERBS:
            raise CniError(ERR_ENV, f"CNI_COMMAND {verb!r} is not one of VERSION, {', '.join(VERBS)}")
        answer = forward(verb, config, stdin.decode(), {k: environ[k] for k in ENV_KEYS if k in environ})
        return 0, (answer.decode().strip() if verb == "ADD" else None)
    except CniError as exc:
        error = {"cniVersion": version, "code": exc.code, "msg": exc.msg}
        if exc.details:
            error["details"] = exc.details
        return 1, dumps(error)


def main() -> None:
    """The executable: exit 0 with a Result (ADD) or nothing, else 1 with a CNI error object."""
    try:
        stdin = sys.stdin.buffer.read()
    except OSError as exc:
        status, answer = 1, dumps({"cniVersion": "1.0.0", "code": ERR_IO, "msg": "cannot read stdin",
                                   "details": str(exc)})
    else:
        # os.environ without os: posix.environ holds bytes, decoded as os.fsdecode does.
        environ = {k.decode(errors="surrogateescape"): v.decode(errors="surrogateescape")
                   for k, v in posix.environ.items()}
        status, answer = run(environ, stdin)
    if answer is not None:
        sys.stdout.write(answer + "\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
