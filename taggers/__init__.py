"""Tagger plugins: label each conversation with intent tags and a cluster.

Registered in :mod:`curate.plugins` (kind ``taggers``): ``cluster``
(:class:`taggers.cluster.ClusterTagger`: k-means on the embeddings, named by
c-TF-IDF; offline, no model) and ``instag`` (:class:`taggers.instag.InstagTagger`:
an LLM through any generation backend, then :mod:`taggers.normalize`). Each keeps
the plugin contract (``name``, ``reads``, ``schema()``, ``params()``,
``identity()``, ``load()``, ``tag``); :mod:`curate.tag.stage` declares the stages
around them. This package never imports the CLI, and the core reaches it only
through the registry.
"""
