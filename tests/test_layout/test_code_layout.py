"""docs/code-layout.md is true to the tree: every folder of source it should name is named, and every
file or folder it names exists (a renamed or removed module cannot leave the guide pointing at nothing)."""

from __future__ import annotations

import re

from .test_imports import PACKAGES, ROOT

DOC = ROOT / "docs" / "code-layout.md"
#: Where a relative name in the guide is looked for (a module is often named without its folder).
SEARCHED = ("", "bluegreen", "bluegreen/rehearsal", "lambda_src", "lambda_src/traffic_shifter", "lambda_src/traffic_shifter/db",
            "emulator", "emulator/bluegreen_emulator", "emulator/bluegreen_emulator/extensions", "emulator/bluegreen_emulator/iam",
            "hooks", "resolvers", "templates", "tests", "scripts", "docs", "app", "config")


def named_paths() -> set[str]:
    """Every `path/like.py` or `folder/` in backticks in the guide."""
    names = set(re.findall(r"`([A-Za-z0-9_./<>-]+(?:\.py|\.md|\.json|/))`", DOC.read_text()))
    return {n for n in names if "<" not in n and "*" not in n}


def exists(name: str) -> bool:
    return any((ROOT / base / name.rstrip("/")).exists() for base in SEARCHED)


def test_code_layout__every_named_path__exists():
    missing = sorted(n for n in named_paths() if not exists(n))
    assert missing == [], f"docs/code-layout.md names what is not in the tree: {missing}"


def test_code_layout__every_source_folder__named():
    folders = {str(p.relative_to(ROOT)) for folder in PACKAGES.values() for p in [folder, *folder.rglob("*")]
               if p.is_dir() and "__pycache__" not in p.parts and "migrations" not in p.parts}
    text = DOC.read_text()
    unnamed = sorted(f for f in folders if f"`{f}/`" not in text and f"`{f.rsplit('/', 1)[-1]}/`" not in text)
    assert unnamed == [], f"docs/code-layout.md does not say what these folders hold: {unnamed}"
