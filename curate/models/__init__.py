"""Loading models safely, shared by scorers, taggers, the judge, the embedders and the LLM backends.

* :mod:`curate.models.hub`: a local directory or a hub id to a directory of files
  (only configuration, tokenizer and safetensors files; ``HF_HUB_OFFLINE``
  respected; revisions), its config, its weight files, and its identity for a manifest.
* :mod:`curate.models.weights`: safetensors only (pickled weights are refused), weight hashes.
* :mod:`curate.models.device`: ``--device`` / ``--dtype`` resolution, usable CPU cores.
* :mod:`curate.models.batching`: length-sorted batches packed to a token budget.

Importing this package imports neither torch nor transformers: each module
imports them where it needs them.
"""
