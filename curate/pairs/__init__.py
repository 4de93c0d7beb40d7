"""``curate pairs``: preference pairs (TRL's prompt / chosen / rejected) from the scored answers
to one prompt, plus the store's own preference records (see :mod:`curate.pairs.stage`)."""
