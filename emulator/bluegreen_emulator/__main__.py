"""Command line: ``python -m bluegreen_emulator start|stop|status|env|serve|phantoms``."""

from __future__ import annotations

import argparse
import sys

from . import launcher


def _port(args: argparse.Namespace) -> int:
    return args.port or launcher.default_port()


def cmd_start(args: argparse.Namespace) -> int:
    port = _port(args)
    try:
        url = launcher.start(port, timeout=args.timeout)
    except launcher.EmulatorError as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr)
        return 2
    print(f"emulator: running on {url} (log: {launcher.log_file(port)})", file=sys.stderr)
    print(url)
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    ports = launcher.running_ports() if args.all else [_port(args)]
    for port in ports:
        if launcher.stop(port):
            print(f"emulator: stopped the emulator on port {port}", file=sys.stderr)
        else:
            print(f"emulator: no emulator of this checkout was running on port {port}", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    st = launcher.status(_port(args))
    print(f"port:   {st.port}")
    print(f"state:  {st.detail}")
    if st.pid:
        print(f"pid:    {st.pid}")
    print(f"url:    {st.url}")
    print(f"log:    {st.log_file}")
    if st.iam:
        print(f"iam:    {'enforced' if st.iam == 'enforce' else 'not enforced (EMULATOR_IAM=off)'}")
    if st.db_endpoints:
        print("databases: " + ", ".join(f"{cluster} -> {where}" for cluster, where in sorted(st.db_endpoints.items())))
    if st.extensions:
        print("extensions: " + ", ".join(st.extensions))
    return 0 if st.running else 3


def cmd_env(args: argparse.Namespace) -> int:
    try:
        lines = launcher.env_lines(_port(args))
    except launcher.EmulatorError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    print("# eval \"$(scripts/emulator env)\"  -- points boto3, Sceptre and the AWS CLI at the emulator, as its deployer")
    for line in lines:
        print(line)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve  # imports moto: emulator venv only

    serve(_port(args))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "phantoms":
        from .phantoms import main as phantoms_main  # boto3 only

        return phantoms_main(argv[1:])
    parser = argparse.ArgumentParser(prog="scripts/emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--port", type=int, default=None, help="default: $EMULATOR_PORT or 5100")
        p.set_defaults(func=func)
        return p

    p = add("start", cmd_start, "start the emulator in the background (idempotent)")
    p.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the health check")
    p = add("stop", cmd_stop, "stop the emulator started from this checkout")
    p.add_argument("--all", action="store_true", help="stop every emulator of this checkout")
    add("status", cmd_status, "show whether the emulator runs (exit 3 if not)")
    add("env", cmd_env, "print the export lines that point AWS clients at the running emulator, as its deployer")
    add("serve", cmd_serve, "run the server in the foreground (what `start` runs)")
    sub.add_parser("phantoms", help="report stack resources the emulated services do not know (see phantoms --help)")

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
