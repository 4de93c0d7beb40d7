"""curate: build a high-quality SFT subset from a large, mixed pool of chat conversations.

The package is organised by stage (ingest, embed, tag, score, dedup, select, train)
around one on-disk store (:mod:`curate.store`). Importing it is cheap: heavy
libraries (torch, transformers, faiss) are imported inside the stages that need them.
"""

__version__ = "0.1.0"
