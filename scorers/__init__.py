"""Scorer plugins: quality scores for each conversation.

Planned (see DESIGN.md, "Plugins"): ArmoRM implemented natively (no remote code),
generic sequence-classification reward models, an LLM judge, cheap heuristics.
A scorer is a small class with a ``name``, the columns it provides, ``load()``
for heavy resources and a batch method; it writes its columns to the store as a
sidecar table with :class:`curate.store.SidecarWriter`. This package never
imports the CLI.
"""
