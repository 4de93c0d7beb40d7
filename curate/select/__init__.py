"""``curate select``: the best, most diverse conversations per tag (see :mod:`curate.select.algorithms`)."""
