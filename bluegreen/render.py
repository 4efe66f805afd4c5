"""Render every troposphere handler in templates/ to its committed JSON twin.

    python -m bluegreen.render           # rewrite templates/<name>.json from templates/<name>.py
    python -m bluegreen.render --check   # exit 1 and list the stale files
    python -m bluegreen.render network   # only templates/network.py

The JSON files are what cfn-lint, checkov, cfn-guard and the nested parent stack read,
and the golden-file test keeps them equal to what Sceptre renders from the handlers.
Handlers take no sceptre_user_data: all environment differences are CloudFormation
parameters, so one JSON file serves dev, prod and the nested parent alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


#: Rendered after the others: the nested parent (main) reads the child JSON files it wraps.
RENDER_LAST = frozenset({"main"})


def handlers(templates_dir: Path = TEMPLATES_DIR) -> list[Path]:
    return sorted((p for p in templates_dir.glob("*.py") if not p.name.startswith("_")),
                  key=lambda p: (p.stem in RENDER_LAST, p.name))


def handler_output(handler: Path) -> str:
    """Load a handler file the way Sceptre's file handler does and call it: the compact body."""
    spec = importlib.util.spec_from_file_location(f"_template_{handler.stem}", handler)
    if spec is None or spec.loader is None:
        raise ImportError(f"{handler}: not a Python file Sceptre's handler could load")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sceptre_handler(None)


def render(handler: Path) -> str:
    """The committed JSON twin of a handler: its output, pretty-printed (bluegreen.cfn.pretty)."""
    from bluegreen.cfn import pretty

    return pretty(handler_output(handler))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale JSON files")
    parser.add_argument("names", nargs="*", help="handlers to render, e.g. network (default: all)")
    args = parser.parse_args(argv)
    stale = []
    selected = [h for h in handlers() if not args.names or h.stem in args.names]
    for handler in selected:
        target = handler.with_suffix(".json")
        text = render(handler)
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text)
    if args.check and stale:
        print("stale templates (run: python -m bluegreen.render): " + ", ".join(stale), file=sys.stderr)
        return 1
    for name in stale:
        print(f"rendered templates/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
