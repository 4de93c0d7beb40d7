"""curate.models: device and dtype resolution, model-directory checks, and the import direction."""

import ast
import subprocess
import sys

import pytest

from curate.errors import CurateError
from curate.models.device import cpu_count, resolve_device, resolve_dtype
from curate.models.hub import check_model_directory, model_dir, read_config, weight_files
from tests.conftest import REPO


def test_device_and_dtype():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device(None) == resolve_device("auto") in ("cpu", "cuda")
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16
    assert resolve_dtype("fp16", "cuda") == torch.float16
    with pytest.raises(CurateError, match="choose auto, bf16, fp16 or fp32"):
        resolve_dtype("int3", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(CurateError, match="CUDA is not available"):
            resolve_device("cuda:0")
    assert cpu_count() >= 1


def test_model_directories(tmp_path):
    with pytest.raises(CurateError, match="neither a local directory nor a hub id"):
        model_dir(str(tmp_path / "missing" / "model"))
    assert model_dir(str(tmp_path)) == tmp_path
    with pytest.raises(CurateError, match="is not a transformers model directory .it is empty"):
        check_model_directory(tmp_path)
    with pytest.raises(CurateError, match="has no config.json"):
        read_config(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(CurateError, match="has no \\*.safetensors weights"):
        check_model_directory(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(CurateError, match="only loads safetensors"):
        check_model_directory(tmp_path)
    with pytest.raises(CurateError, match="only loads safetensors"):
        weight_files(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    check_model_directory(tmp_path)
    assert weight_files(tmp_path) == [tmp_path / "model.safetensors"]
    assert read_config(tmp_path) == {"model_type": "llama"}


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["curate/models", "curate/llm", "curate/testing"])
def test_the_core_imports_no_plugin(package):
    """Plugins import curate.models, never the other way round (DESIGN.md, layout)."""
    files = sorted((REPO / package).rglob("*.py"))
    assert files
    for path in files:
        plugins = {m for m in imported_modules(path) if m.split(".")[0] in ("scorers", "taggers")}
        assert not plugins, f"{path.relative_to(REPO)} imports {sorted(plugins)}"
        if package != "curate/testing":
            assert not {m for m in imported_modules(path) if m.startswith("curate.testing")}


def test_importing_the_packages_imports_no_torch():
    code = (
        "import sys, curate.models, curate.models.hub, curate.models.device, "
        "curate.models.weights, curate.models.batching, curate.testing, curate.testing.chat_server\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'transformers' not in sys.modules, 'transformers imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
