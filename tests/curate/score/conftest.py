"""A tiny random ArmoRM checkpoint (official layout) for the score stage tests."""

import pytest


@pytest.fixture(scope="session")
def armorm_checkpoint(tmp_path_factory):
    from curate.testing.tiny_models import write_armorm_checkpoint

    return write_armorm_checkpoint(tmp_path_factory.mktemp("armorm") / "ArmoRM-tiny")
