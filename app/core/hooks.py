"""Cross-domain reactions, kept in one place so domains do not import each other in circles.

Each hook is called inside the caller's transaction. Later capabilities (activation check, analysis)
register their reactions here.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

_incident_changed: list[Callable[[Session, int], None]] = []
_footage_linked: list[Callable[[Session, int, int], None]] = []

# Modules that register reactions when imported; loaded before the first hook fires, so a reaction runs
# whoever triggers it (web, worker, CLI, demo) without every entry point importing every domain.
HOOK_MODULES = ["app.incident.activation", "app.footage.key_moments"]
_loaded = False


def _load_reactions() -> None:
    global _loaded
    if _loaded:
        return
    import importlib

    for name in HOOK_MODULES:
        importlib.import_module(name)
    _loaded = True


def on_incident_changed(fn: Callable[[Session, int], None]) -> Callable[[Session, int], None]:
    _incident_changed.append(fn)
    return fn


def on_footage_linked(fn: Callable[[Session, int, int], None]) -> Callable[[Session, int, int], None]:
    _footage_linked.append(fn)
    return fn


def incident_changed(session: Session, incident_id: int) -> None:
    _load_reactions()
    for fn in _incident_changed:
        fn(session, incident_id)


def footage_linked(session: Session, footage_id: int, incident_id: int) -> None:
    """Called after a link is made or removed."""
    _load_reactions()
    for fn in _footage_linked:
        fn(session, footage_id, incident_id)
