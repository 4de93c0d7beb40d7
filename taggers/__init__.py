"""Tagger plugins: label each conversation with intent tags and a cluster.

Planned (see DESIGN.md, "Plugins"): an InsTag-style LLM tagger, an offline
embedding-cluster tagger, and the tag-normalisation steps. A tagger is a small
class with a ``name``, the columns it provides, ``load()`` for heavy resources
and a batch method; it writes its columns to the store as a sidecar table with
:class:`curate.store.SidecarWriter`. This package never imports the CLI.
"""
