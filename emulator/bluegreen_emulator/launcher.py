"""Start, stop and inspect the background emulator process (standard library only).

This module must not import moto: it is also imported from the project venv, which
cannot install moto's server dependencies. The server itself runs in a separate
process (``python -m bluegreen_emulator serve``) with the emulator venv's interpreter.

State lives in ``<repo>/.emulator/`` (gitignored), one pid file, one log and one credentials file
per port: ``emulator-<port>.pid``, ``emulator-<port>.log`` and ``emulator-<port>.credentials.json``
(the deployer's keys, made by the server at start: IAM is enforced, see iam/enforcement.py).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 5100
#: Path the emulator answers itself (see server.py); identifies *our* server on a port.
HEALTH_PATH = "/__emulator/health"
#: The server process's own environment: real keys must never reach the emulator. Under IAM
#: enforcement these are refused like any unknown key; clients use the deployer's (env_vars).
FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"
REGION = "us-east-1"

_PACKAGE_DIR = Path(__file__).resolve().parent
#: emulator/bluegreen_emulator -> emulator -> repository root
REPO_ROOT = _PACKAGE_DIR.parents[1]


class EmulatorError(RuntimeError):
    """A failure the user can act on; the message says what to do."""


@dataclass
class Status:
    port: int
    running: bool
    pid: int | None
    url: str
    log_file: Path
    pid_file: Path
    detail: str = ""
    extensions: list[str] | None = None
    iam: str | None = None  # "enforce" or "off", from the running server
    db_endpoints: dict[str, str] | None = None  # EMULATOR_DB_ENDPOINTS in force: cluster id -> host:port


def default_port() -> int:
    raw = os.environ.get("EMULATOR_PORT", "")
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        raise EmulatorError(f"EMULATOR_PORT={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise EmulatorError(f"EMULATOR_PORT={port} is outside 1-65535")
    return port


def state_dir() -> Path:
    return Path(os.environ.get("EMULATOR_STATE_DIR") or REPO_ROOT / ".emulator")


def url_for(port: int) -> str:
    return f"http://{HOST}:{port}"


def pid_file(port: int) -> Path:
    return state_dir() / f"emulator-{port}.pid"


def log_file(port: int) -> Path:
    return state_dir() / f"emulator-{port}.log"


def emulator_python() -> str:
    """The interpreter that can import moto[server]: the emulator venv's python."""
    override = os.environ.get("EMULATOR_PYTHON")
    if override:
        return override
    venv_python = REPO_ROOT / ".venv-emulator" / "bin" / "python"
    if venv_python.exists():
        return str(venv_python)
    return sys.executable


def credentials_file(port: int) -> Path:
    return state_dir() / f"emulator-{port}.credentials.json"


def write_credentials(port: int, deployer: dict[str, str], iam: str) -> None:
    """The deployer's keys for clients of this server (owner-only file, replaced atomically)."""
    path = credentials_file(port)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({**deployer, "iam": iam, "port": port}, fh)
    os.replace(staging, path)


def read_credentials(port: int) -> dict[str, str] | None:
    try:
        return json.loads(credentials_file(port).read_text())
    except (OSError, ValueError):
        return None


def env_vars(port: int | None = None) -> dict[str, str]:
    """Environment that points boto3 / Sceptre / the AWS CLI at the running emulator, as its deployer."""
    port = port or default_port()
    deployer = read_credentials(port)
    if deployer is None:
        raise EmulatorError(
            f"no emulator credentials for port {port} ({credentials_file(port)}): the deployer's keys are made "
            f"when the emulator starts.\n  Start it first: EMULATOR_PORT={port} scripts/emulator start"
        )
    return {
        "AWS_ENDPOINT_URL": url_for(port),
        "AWS_ACCESS_KEY_ID": deployer["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": deployer["SecretAccessKey"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


#: Unset by ``env``: a session token or profile from elsewhere would not match the deployer's keys.
CLEARED_VARIABLES = ("AWS_SESSION_TOKEN", "AWS_PROFILE")


def env_lines(port: int | None = None) -> list[str]:
    return [f"export {k}={v}" for k, v in env_vars(port).items()] + [f"unset {k}" for k in CLEARED_VARIABLES]


# --------------------------------------------------------------------------- probes


def health(port: int, timeout: float = 1.0) -> dict | None:
    """Our server's health document, or None if nothing (or something else) answers."""
    try:
        with urllib.request.urlopen(url_for(port) + HEALTH_PATH, timeout=timeout) as resp:
            body = json.loads(resp.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if isinstance(body, dict) and body.get("service") == "bluegreen-emulator":
        return body
    return None


def port_in_use(port: int) -> bool:
    """True when something already listens on 127.0.0.1:port (or binding fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((HOST, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The server sets SO_REUSEADDR too, so TIME_WAIT sockets do not count as "taken".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child nobody reaped yet) is not alive for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        pass
    return True


def _is_our_process(pid: int) -> bool:
    """Guard against pid reuse: the pid must still be a `bluegreen_emulator serve`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _pid_alive(pid)  # no /proc (macOS): trust the pid file
    return b"bluegreen_emulator" in cmdline and b"serve" in cmdline


def _read_pid(port: int) -> int | None:
    try:
        return int(pid_file(port).read_text().strip())
    except (OSError, ValueError):
        return None


def _log_tail(port: int, lines: int = 25) -> str:
    try:
        text = log_file(port).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------- commands


def _answered(st: Status, doc: dict, detail: str) -> None:
    """``st`` of an emulator that answered its health check with ``doc``."""
    st.running = True
    st.extensions, st.iam, st.db_endpoints = doc.get("extensions"), doc.get("iam"), doc.get("db_endpoints")
    st.detail = detail


def status(port: int | None = None) -> Status:
    port = port or default_port()
    pid = _read_pid(port)
    st = Status(port, False, pid, url_for(port), log_file(port), pid_file(port))
    doc = health(port)
    if pid and _pid_alive(pid) and _is_our_process(pid):
        if doc and doc.get("pid") == pid:
            _answered(st, doc, "running")
        else:
            st.detail = "process alive but not answering the health check (starting or hung)"
    elif doc:
        st.pid = doc.get("pid")
        _answered(st, doc, "running (started elsewhere: no pid file of this checkout)")
    else:
        st.detail = "not running"
        st.pid = None
    return st


def start(port: int | None = None, timeout: float = 90.0) -> str:
    """Start the emulator in the background (idempotent) and return its URL.

    Raises EmulatorError with an actionable message when the port is taken by something
    else or the server does not come up.
    """
    port = port or default_port()
    current = status(port)
    if current.running:
        return current.url
    stale = _read_pid(port)
    if stale and _pid_alive(stale) and _is_our_process(stale):
        # Our process exists but does not answer: give it the benefit of the doubt briefly.
        if _wait_healthy(port, stale, min(timeout, 30.0)):
            return url_for(port)
        raise EmulatorError(
            f"an emulator process (pid {stale}) owns port {port} but does not answer "
            f"{url_for(port)}{HEALTH_PATH}.\n  Stop it: scripts/emulator stop "
            f"(EMULATOR_PORT={port})\n  Log: {log_file(port)}"
        )
    pid_file(port).unlink(missing_ok=True)
    credentials_file(port).unlink(missing_ok=True)
    if port_in_use(port):
        raise EmulatorError(
            f"port {port} on {HOST} is already in use by another program (not the emulator "
            f"of this checkout).\n  Either stop that program (find it with: ss -ltnp "
            f"'sport = :{port}'  or  lsof -i :{port}),\n  or start the emulator on another "
            f"port: EMULATOR_PORT={port + 1} scripts/emulator start"
        )
    state_dir().mkdir(parents=True, exist_ok=True)
    log = open(log_file(port), "ab")  # handed to the child process
    try:
        log.write(f"\n=== emulator start {time.strftime('%Y-%m-%d %H:%M:%S')} port {port}\n".encode())
        log.flush()
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["EMULATOR_PORT"] = str(port)
        # The server must never use real credentials for anything.
        env.update({"AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
                    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
        env.pop("AWS_ENDPOINT_URL", None)
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        proc = subprocess.Popen(
            [emulator_python(), "-m", "bluegreen_emulator", "serve", "--port", str(port)],
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # survives the launcher; `stop` kills it by pid
        )
    finally:
        log.close()
    pid_file(port).write_text(f"{proc.pid}\n")
    if _wait_healthy(port, proc.pid, timeout, proc):
        return url_for(port)
    # Did not come up: clean up and explain.
    code = proc.poll()
    if code is None:
        _terminate(proc.pid)
    pid_file(port).unlink(missing_ok=True)
    why = f"exited with code {code}" if code is not None else f"did not answer within {timeout:.0f}s"
    raise EmulatorError(
        f"the emulator server {why}.\n  Last lines of {log_file(port)}:\n"
        + "\n".join("    " + line for line in _log_tail(port).splitlines())
        + "\n  If moto cannot be imported, run scripts/bootstrap to (re)build .venv-emulator."
    )


def _wait_healthy(port: int, pid: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if proc is None and not _pid_alive(pid):
            return False
        doc = health(port, timeout=1.0)
        if doc and doc.get("pid") == pid:
            return True
        time.sleep(0.2)
    return False


def _terminate(pid: int, grace: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(port: int | None = None) -> bool:
    """Stop the emulator started from this checkout on `port`. True if one was stopped."""
    port = port or default_port()
    pid = _read_pid(port)
    stopped = False
    if pid and _pid_alive(pid) and _is_our_process(pid):
        _terminate(pid)
        stopped = True
    pid_file(port).unlink(missing_ok=True)
    if stopped or health(port) is None:
        credentials_file(port).unlink(missing_ok=True)
    return stopped


def running_ports() -> list[int]:
    """Ports with a pid file in the state directory (running or stale)."""
    ports = []
    for path in sorted(state_dir().glob("emulator-*.pid")):
        try:
            ports.append(int(path.stem.split("-", 1)[1]))
        except ValueError:
            continue
    return ports
