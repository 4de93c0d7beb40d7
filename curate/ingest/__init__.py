"""``curate ingest``: read conversation files of many formats into the store (see :mod:`curate.ingest.pipeline`)."""
