"""``curate score``: run a scorer plugin over the store (see :mod:`curate.score.stage`)."""
