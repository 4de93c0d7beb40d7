"""``curate embed``: one vector per conversation, cached in the store (see :mod:`curate.embed.stage`)."""
