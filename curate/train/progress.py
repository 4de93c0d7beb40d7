"""Trainer callbacks of ``curate train``: the rich progress bar, and a hook on every checkpoint.

The bar replaces transformers' tqdm and its printed log dicts: one line on stderr
(:func:`curate.progress.console`, so it never wraps off a terminal) with the
steps done out of the total, the latest loss (and the reward accuracy in DPO) in
its description, tokens and tokens/s of this session, elapsed time and ETA.
Imported only when training starts (it imports transformers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from transformers import TrainerCallback

from curate.progress import REFRESH_HZ, ItemsColumn, console


class TrainProgress(TrainerCallback):
    """A rich bar over the optimizer steps; the description shows the latest loss."""

    def __init__(self, method: str, enabled: bool = True):
        self.method = method
        self.enabled = enabled
        self.progress: Progress | None = None
        self.task: Any = None
        self.tokens0 = 0
        self.last = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.tokens0 = int(state.num_input_tokens_seen or 0)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            ItemsColumn("tokens"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console(),
            disable=not self.enabled,
            auto_refresh=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            f"{self.method}",
            total=state.max_steps,
            completed=state.global_step,
            items=0,
            t0=time.monotonic(),
        )
        self.progress.refresh()

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is None:
            return
        tokens = int(state.num_input_tokens_seen or 0) - self.tokens0
        self.progress.update(self.task, completed=state.global_step, items=tokens)
        now = time.monotonic()
        if now - self.last >= 1 / REFRESH_HZ:
            self.progress.refresh()
            self.last = now

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.progress is None or not logs or "loss" not in logs:
            return
        text = f"{self.method} loss {logs['loss']:.4f}"
        if "rewards/accuracies" in logs:
            text += f" acc {logs['rewards/accuracies']:.2f}"
        self.progress.update(self.task, description=text)

    def on_train_end(self, args, state, control, **kwargs):
        self.close()

    def close(self) -> None:
        """Stop the bar (also when training fails or is interrupted)."""
        if self.progress is not None:
            self.progress.refresh()
            self.progress.stop()
            self.progress = None


class OnSave(TrainerCallback):
    """Calls ``hook(state)`` after each checkpoint is written (the manifest follows the run)."""

    def __init__(self, hook: Callable[[Any], None]):
        self.hook = hook

    def on_save(self, args, state, control, **kwargs):
        self.hook(state)
