"""What a hook or resolver reads from the Sceptre stack it runs for: the project's folder and a client
on the stack's own session (its profile, region and sceptre_role). A test passes either in instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def project_root(stack: Any, given: Path | None = None) -> Path:
    """``given``, else the project Sceptre runs in, else the working directory (a hook run outside Sceptre)."""
    if given is not None:
        return Path(given)
    project_path = getattr(stack, "stack_group_config", {}).get("project_path") if stack else None
    return Path(project_path) if project_path else Path.cwd()


def client(stack: Any, service: str, given: Any = None) -> Any:
    """``given`` (a test's client), else a ``service`` client on the stack's own session."""
    return given if given is not None else stack.connection_manager.get_session().client(service)


__all__ = ["client", "project_root"]
