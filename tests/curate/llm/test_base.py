"""The backend interface: parameters, the registry, lazy imports."""

import subprocess
import sys

import pytest

from curate.errors import CurateError
from curate.llm import BACKENDS, Generation, GenerationParams, resolve_backend
from curate.llm.base import check_prompt, truncate_at_stop


def test_importing_and_resolving_does_not_import_torch():
    code = (
        "import sys\n"
        "from curate.llm import resolve_backend\n"
        "for kind in ('openai', 'transformers', 'vllm'):\n"
        "    resolve_backend(kind, 'owner/model', **({'api_base': 'http://x/v1'} "
        "if kind == 'openai' else {}))\n"
        "heavy = [m for m in ('torch', 'transformers', 'vllm') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_resolve_backend_kinds():
    assert set(BACKENDS) == {"transformers", "vllm", "openai"}
    for kind in BACKENDS:
        backend = resolve_backend(kind, "owner/model")
        assert backend.name == kind
        assert backend.model_ref if kind != "openai" else backend.model == "owner/model"
    with pytest.raises(CurateError, match="unknown generation backend 'hf'.*transformers"):
        resolve_backend("hf", "x")
    with pytest.raises(CurateError, match="backend 'openai'.*colour"):
        resolve_backend("openai", "x", colour="red")


def test_generation_params_validate():
    assert GenerationParams().greedy
    assert GenerationParams(stop="END").stop == ("END",)
    assert GenerationParams(stop=["a", "b"]).stop == ("a", "b")
    for bad in (
        {"max_new_tokens": 0},
        {"temperature": -1},
        {"top_p": 0},
        {"stop": ("",)},
    ):
        with pytest.raises(CurateError):
            GenerationParams(**bad)


def test_truncate_at_stop_takes_the_earliest():
    assert truncate_at_stop("abc END def STOP", ("STOP", "END")) == ("abc ", True)
    assert truncate_at_stop("abc", ("x",)) == ("abc", False)
    assert truncate_at_stop("abc", ()) == ("abc", False)


def test_check_prompt():
    assert check_prompt([{"role": "user", "content": "hi"}]) is None
    assert "non-empty" in check_prompt([])
    assert "role" in check_prompt([{"role": "tool", "content": "x"}])
    assert "content" in check_prompt([{"role": "user", "content": None}])


def test_failed_generation():
    gen = Generation.failed("boom", prompt_tokens=3)
    assert not gen.ok and gen.text is None and gen.error == "boom" and gen.prompt_tokens == 3
