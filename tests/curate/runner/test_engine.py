"""The engine layer without Ray: options, recipes, merging the workers' extras, and the
call cache and temp-file rules that several worker processes writing one store rely on."""

import pickle
import subprocess
import sys

import pytest

from curate.errors import InputError
from curate.judge.cache import Call, CallCache
from curate.runner import EngineOptions, Loaded, start_workers
from curate.runner.engine import engine_options, merge_extras
from curate.store import files
from curate.testing.stages import CharsRecipe


def test_engine_options_and_their_errors():
    assert engine_options(None).engine == "local"
    assert engine_options("ray") == EngineOptions(engine="ray")
    assert engine_options({"engine": "ray", "workers": 3}).workers == 3
    with pytest.raises(InputError, match="unknown --engine 'dask'"):
        engine_options("dask")


def test_merge_extras_adds_the_counts_and_keeps_the_first_of_the_rest():
    identity = {"model": "m", "files": 3}  # a number that is not a count: never summed
    merged = merge_extras(
        [
            {"calls": {"made": 3, "cached": 1}, "identity": identity, "ok": True},
            {"calls": {"made": 2}, "identity": identity, "ok": False},
            {},
        ],
        summed=("calls",),
    )
    assert merged == {"calls": {"made": 5, "cached": 1}, "identity": identity, "ok": True}
    assert merge_extras([]) == {}


class Component:
    def __init__(self):
        self.loaded = False

    def load(self):
        self.loaded = True


def declare(component, chunk_rows):
    assert component.loaded, "declared before load()"
    return CharsRecipe(chunk_rows=chunk_rows)()


def test_a_recipe_loads_then_declares_and_pickles_unloaded():
    recipe = Loaded(Component(), declare, (4,))
    copy = pickle.loads(pickle.dumps(recipe))
    assert not copy.component.loaded
    with start_workers(copy, "local") as workers:
        assert workers.stage.chunk_rows == 4 and copy.component.loaded


def test_the_call_cache_never_gives_two_writers_one_part(tmp_path):
    """Two caches on one folder (two judge workers) that both saw the same parts: each new
    part gets a name of its own, and both sets of calls are there for the next reader."""
    a, b = CallCache(tmp_path, "j"), CallCache(tmp_path, "j")
    assert len(a) == len(b) == 0
    a.add([Call("k1", ("x",), 0, "[[5]]")])
    b._parts = lambda: []  # b listed the folder before a's part landed: it tries part 0 too
    b.add([Call("k2", ("y",), 0, "[[6]]")])
    parts = sorted(p.name for p in (tmp_path / "judge" / "calls" / "j").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet"]
    assert set(CallCache(tmp_path, "j").calls) == {"k1", "k2"}


def test_cleaning_temp_files_spares_those_of_running_processes(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = tmp_path / f"part.parquet{files.TMP_MARK}{sleeper.pid}"
        dead = tmp_path / f"part.parquet{files.TMP_MARK}999999999"
        alive.write_text("x")
        dead.write_text("x")
        files.clean_tmp(tmp_path, spare_running=True)
        assert alive.exists() and not dead.exists()
        files.clean_tmp(tmp_path)
        assert not alive.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
