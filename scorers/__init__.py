"""Scorer plugins: quality scores for each conversation.

Registered in :mod:`curate.plugins` (kind ``scorers``): ``heuristics`` (cheap weak
signals, no model), ``armorm`` (ArmoRM implemented natively, no remote code) and
``reward`` (any single-output sequence-classification reward model). Each is a
:class:`scorers.base.Scorer` (the plugin contract: ``name``, ``reads``,
``schema()``, ``params()``, ``identity()``, ``load()``, ``score``);
:func:`scorers.registry.resolve` turns ``--model`` into one. The score stage
(:mod:`curate.score.stage`) writes its columns to the sidecar ``score.<key>``.
This package never imports the CLI, and the core reaches it only through the
registry.
"""
