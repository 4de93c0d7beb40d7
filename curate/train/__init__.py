"""``curate train``: TRL's SFT / DPO trainers over a selection or pairs (see :mod:`curate.train.run`)."""
