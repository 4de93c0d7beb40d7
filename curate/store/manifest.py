"""Stage manifests: what ran, with which parameters, on which inputs, how fast.

A manifest is a JSON file in ``STORE/manifests``. Its ``fingerprint`` identifies
the inputs and parameters of the stage; a rerun with another fingerprint must not
mix its results with the old ones (see :mod:`curate.store.sidecar`).
"""

from __future__ import annotations

import hashlib
import platform
import sys
import time
from importlib import metadata
from typing import Any

import orjson

import curate

# Libraries whose versions change outputs; recorded when installed (never imported here).
TRACKED_LIBRARIES = (
    "numpy",
    "pyarrow",
    "orjson",
    "click",
    "rich",
    "torch",
    "transformers",
    "sentence-transformers",
    "faiss-cpu",
    "faiss-gpu",
    "scikit-learn",
)


def library_versions(names: tuple[str, ...] = TRACKED_LIBRARIES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment() -> dict[str, Any]:
    return {
        "curate": curate.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": library_versions(),
    }


def fingerprint(obj: Any) -> str:
    """A stable hash of a JSON-serialisable object (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
