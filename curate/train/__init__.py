"""``curate train``: TRL's SFT / DPO trainers over a selection or pairs.

- :mod:`curate.train.run`: ``run_train``, the run itself: the manifest, TRL's trainer built and
  driven, the final model swapped into place (see its docstring for the whole story);
- :mod:`curate.train.options`: ``TrainOptions`` (the CLI's flags), their checks and defaults;
- :mod:`curate.train.output`: the model folder's rules: its files, manifest, checkpoints, lock;
- :mod:`curate.train.hardware`: precision, attention kernel, one GPU, and model loading;
- :mod:`curate.train.data`: the selection or pairs read into trainer rows;
- :mod:`curate.train.templates`: the chat template trained with (``{% generation %}`` markers);
- :mod:`curate.train.progress`: the rich progress bar and the checkpoint callback.
"""
