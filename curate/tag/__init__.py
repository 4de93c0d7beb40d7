"""``curate tag``: tags and clusters per conversation (see :mod:`curate.tag.stage`)."""
