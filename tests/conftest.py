"""Shared fixtures: the real data in ../shared/data, and small helpers to build inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch):
    """Output does not depend on the CI's colour or terminal-size variables."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` relative to the repo root; tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def write_jsonl(path: Path, records: list, raw_lines: list[bytes] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [orjson.dumps(r) for r in records] + list(raw_lines or [])
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
    return path


def parquet_digests(store_root: Path) -> dict[str, str]:
    """md5 of every Parquet file of a store (tables only, not manifests)."""
    return {
        str(p.relative_to(store_root)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(store_root.rglob("*.parquet"))
    }


def kendall_tau(a, b) -> float:
    """Kendall's tau-a of two sequences (ties count as neither agreeing nor not)."""
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    i, j = np.triu_indices(len(a), 1)
    return float((np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])).sum() / len(i))


def judge_cli(capsys, store, server, *args) -> tuple[int, str]:
    """``curate judge STORE --model judge --backend openai --api-base ...`` in process:
    (exit code, stdout + stderr)."""
    from curate.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "judge",
                str(store.root),
                "--model",
                "judge",
                "--backend",
                "openai",
                "--api-base",
                server.api_base,
                *args,
            ]
        )
    out = capsys.readouterr()
    return exit_.value.code, out.out + out.err


def tiny_judge_cli(capsys, store, model, name, *args) -> list[dict]:
    """``curate judge STORE --model MODEL --backend transformers`` on CPU with 8 new tokens,
    in process; asserts a clean exit and returns the rows of ``score.judge.NAME``."""
    from curate.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "judge",
                str(store.root),
                "--model",
                str(model),
                "--backend",
                "transformers",
                "--device",
                "cpu",
                "--name",
                name,
                "--max-new-tokens",
                "8",
                "-q",
                *args,
            ]
        )
    assert exit_.value.code == 0, capsys.readouterr().err
    return store.read(columns=["id"], sidecars=[f"score.judge.{name}"]).to_pylist()
