"""The on-disk store and its Python API (see :mod:`curate.store.store`)."""

from curate.store.sidecar import SidecarWriter
from curate.store.store import Store, join_by_id

__all__ = ["Store", "SidecarWriter", "join_by_id"]
