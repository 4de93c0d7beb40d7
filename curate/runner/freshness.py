"""Whether a sidecar is complete *and* still built on the current versions of its inputs.

Each sidecar manifest records a ``build`` id (new each time the sidecar is built
from scratch) and the build ids of the sidecars it was computed from (``inputs``).
A sidecar whose input was rebuilt since (another score under the same name, new
embeddings) is *stale*: readers must not take it for a result of the current
store, and the stage that wrote it rebuilds it on its next run.
"""

from __future__ import annotations

from typing import Any

from curate import names
from curate.errors import StoreError
from curate.store import Store
from curate.store.manifest import fingerprint


def build_id(manifest: dict[str, Any]) -> str:
    """The id of one build of a sidecar (manifests of older versions: fingerprint + start)."""
    return manifest.get("build") or fingerprint(
        [manifest.get("fingerprint"), manifest.get("started")]
    )


def stale_inputs(store: Store, name: str, _seen: frozenset[str] = frozenset()) -> list[str]:
    """The inputs of sidecar ``name`` that changed (or went missing) since it was built."""
    manifest = store.manifest(names.manifest_name(name)) or {}
    stale = []
    for source, built in (manifest.get("inputs") or {}).items():
        current = store.manifest(names.manifest_name(source))
        if (
            current is None
            or current.get("status") != "complete"
            or build_id(current) != built
            or (source not in _seen and stale_inputs(store, source, _seen | {name}))
        ):
            stale.append(source)
    return stale


def sidecar_state(store: Store, name: str) -> str:
    """``missing``, ``running`` (or killed), ``stale`` or ``complete``."""
    manifest = store.manifest(names.manifest_name(name))
    if manifest is None:
        return "missing"
    if manifest.get("status") != "complete":
        return "running"
    return "stale" if stale_inputs(store, name) else "complete"


def is_complete(store: Store, name: str) -> bool:
    """Complete and built on the current versions of its inputs."""
    return sidecar_state(store, name) == "complete"


def input_builds(store: Store, sidecars: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The current build ids of ``sidecars``; each must be complete and fresh."""
    builds = {}
    for source in sidecars:
        state = sidecar_state(store, source)
        if state != "complete":
            raise StoreError(
                f"{store.root}: input {source!r} is {state}; run (or rerun) the stage that "
                "writes it first"
            )
        builds[source] = build_id(store.manifest(names.manifest_name(source)))
    return builds
