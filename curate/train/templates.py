"""Which chat template ``curate train`` renders conversations with, and the check that it can.

SFT trains on the assistant's tokens only (TRL's ``assistant_only_loss``), which
needs ``{% generation %} ... {% endgeneration %}`` markers around each reply in the
template: transformers returns the tokens rendered inside them as the assistant
mask. The template is, in this order:

1. ``--chat-template FILE_OR_STRING`` when given (for SFT it must have the markers);
2. the model's own template, when it has the markers;
3. TRL's training version of the model's template (``get_training_chat_template``:
   Llama 3, Qwen, Gemma, Phi, ... with markers added);
4. otherwise the run is refused with one message that says what to pass.

The chosen template is then checked on a probe conversation: the masked tokens
must hold both replies, nothing of the user's turns, and end on an end-of-turn
token (a template that leaves the end-of-turn token outside the markers trains a
model that never learns to stop, with a healthy-looking loss).

DPO loses on the completions by construction (the tokens after the rendered
prompt), so any chat template will do; a model without one still needs
``--chat-template``. The template used is saved with the model.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.errors import CurateError, InputError

MARKERS = re.compile(r"\{%-?\s*generation\s*-?%\}")
END_MARKERS = re.compile(r"\{%-?\s*endgeneration\s*-?%\}")
PROBE_USER = ("Probe question one?", "Probe question two?")
PROBE_REPLY = ("Probe answer one.", "Probe answer two.")
HOW_TO = (
    "pass --chat-template FILE: a copy of the model's chat template with "
    "{% generation %}...{% endgeneration %} around each assistant reply (its content and "
    "end-of-turn token), e.g. TRL's trl/chat_templates/*_training.jinja"
)


@dataclass(frozen=True)
class ChatTemplate:
    text: str
    source: str  # "option" (--chat-template), "model" (its own), "trl" (TRL's training version)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def has_markers(template: Any) -> bool:
    """Whether a template (or a dict of named templates: its ``default``) has both markers."""
    if isinstance(template, dict):
        template = template.get("default")
    return (
        isinstance(template, str)
        and bool(MARKERS.search(template))
        and bool(END_MARKERS.search(template))
    )


def read_template_option(value: str) -> str:
    """``--chat-template``: a file's text, or the template itself."""
    path = Path(value).expanduser()
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except OSError:  # a name too long for a path: a template given inline
        pass
    if "{%" in value or "{{" in value:
        return value
    raise InputError(
        f"--chat-template {value!r} is neither a file nor a Jinja chat template; give a .jinja file "
        "or the template text"
    )


def choose_template(
    tokenizer: Any, method: str, option: str | None, model_ref: str
) -> ChatTemplate:
    """The template to train with (see the module docstring); refuses with what to do."""
    if option:
        text = read_template_option(option)
        if method == "sft" and not has_markers(text):
            raise InputError(
                f"--chat-template has no {{% generation %}} markers, which assistant-only SFT loss "
                f"needs; {HOW_TO}"
            )
        return ChatTemplate(text, "option")
    own = getattr(tokenizer, "chat_template", None)
    if isinstance(own, dict):
        own = own.get("default")
    if not own:
        raise InputError(
            f"the tokenizer of {model_ref} has no chat template (a base model, not a chat model); "
            + HOW_TO.replace("a copy of the model's chat template", "a chat template")
        )
    if method == "dpo" or has_markers(own):
        return ChatTemplate(own, "model")
    from trl.chat_template_utils import get_training_chat_template

    try:
        training = get_training_chat_template(tokenizer)
    except ValueError:
        training = None
    if training and has_markers(training):
        return ChatTemplate(training, "trl")
    raise InputError(
        f"the chat template of {model_ref} has no {{% generation %}} markers and TRL has no "
        f"training version of it, so the loss cannot be limited to the assistant's tokens; {HOW_TO}"
    )


def check_template(tokenizer: Any, template: ChatTemplate, method: str) -> None:
    """Render a probe conversation: SFT's assistant mask must be exactly the replies."""
    messages = [
        {"role": "user", "content": PROBE_USER[0]},
        {"role": "assistant", "content": PROBE_REPLY[0]},
        {"role": "user", "content": PROBE_USER[1]},
        {"role": "assistant", "content": PROBE_REPLY[1]},
    ]
    where = {"option": "--chat-template", "model": "the model's chat template"}.get(
        template.source, "TRL's training chat template"
    )
    try:
        out = tokenizer.apply_chat_template(
            messages,
            chat_template=template.text,
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=method == "sft",
        )
    except Exception as exc:  # a template error, a slow tokenizer without offsets, ...
        raise CurateError(
            f"{where} cannot render a user/assistant conversation: {str(exc).splitlines()[0]}"
        ) from None
    if method != "sft":
        return
    ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    masked = tokenizer.decode([i for i, m in zip(ids, mask) if m])
    if not all(reply in masked for reply in PROBE_REPLY) or any(q in masked for q in PROBE_USER):
        raise CurateError(
            f"the {{% generation %}} markers of {where} do not enclose exactly the assistant "
            f"replies (the masked tokens read {masked[:120]!r}); {HOW_TO}"
        )
    stops = set(tokenizer.get_added_vocab().values())
    last = [i for i, m in zip(ids, mask) if m and tokenizer.decode([i]).strip()]
    if not last or last[-1] not in stops:
        raise CurateError(
            f"{where} leaves the end-of-turn token outside {{% generation %}}...{{% endgeneration %}}: "
            f"the model would never learn to stop; {HOW_TO}"
        )
