"""A tiny random chat model on disk, loaded once per session through the transformers backend."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The tiny model's ops take microseconds: a second thread only adds synchronisation, which
    costs ten times the work on a busy 2-core machine. Restored after this directory's tests."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory) -> Path:
    from curate.testing.tiny_models import write_tiny_chat_model

    return write_tiny_chat_model(tmp_path_factory.mktemp("llm") / "tiny-chat")


@pytest.fixture(scope="session")
def tiny_backend(tiny_lm_dir):
    from curate.llm import resolve_backend

    backend = resolve_backend("transformers", str(tiny_lm_dir))
    backend.load()
    yield backend
    backend.close()
