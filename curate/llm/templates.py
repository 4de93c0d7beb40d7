"""Chat prompts to token ids: the tokenizer's chat template, or the Vicuna v1.1 format.

Shared by the local backends (transformers, vLLM), which both feed token ids
to the model so that a beginning-of-text token is never added twice (a chat
template that writes ``bos_token`` itself, tokenized again with special tokens,
would start with two).

Vicuna v1.1 is FastChat's ``vicuna_v1.1`` conversation template (separator
style ``ADD_COLON_TWO``), the format InsTagger (OFA-Sys/InsTagger, a LLaMA-2
fine-tune) was trained on; its tokenizer has no chat template::

    {system} USER: {user} ASSISTANT: {reply}</s>USER: {user} ASSISTANT:

The text is tokenized with the tokenizer's own special tokens, as FastChat
does, and always starts with the beginning-of-text token (``<s>``).
"""

from __future__ import annotations

from typing import Any

from curate.errors import CurateError
from curate.llm.base import Prompt, check_prompt

TEMPLATES = ("auto", "chat", "vicuna")
VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
VICUNA_ROLES = {"user": "USER", "assistant": "ASSISTANT"}
VICUNA_SEPS = (" ", "</s>")


class PromptError(ValueError):
    """This one prompt cannot be rendered (recorded as its failure, not raised to the caller)."""


def render_vicuna(messages: Prompt) -> str:
    """The Vicuna v1.1 prompt for a conversation that ends on a user turn, ready for the reply."""
    system = VICUNA_SYSTEM
    turns = list(messages)
    if turns and turns[0]["role"] == "system":
        system, turns = turns[0]["content"], turns[1:]
    if not turns or turns[-1]["role"] != "user":
        raise PromptError("the vicuna template needs a conversation that ends on a user turn")
    text = system + VICUNA_SEPS[0]
    for i, message in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if message["role"] != expected:
            raise PromptError(
                "the vicuna template needs user and assistant turns alternating, starting with "
                f"user (after an optional system prompt); turn {i} is {message['role']!r}"
            )
        text += f"{VICUNA_ROLES[expected]}: {message['content']}{VICUNA_SEPS[i % 2]}"
    return text + VICUNA_ROLES["assistant"] + ":"


class PromptRenderer:
    """Renders and tokenizes prompts with one tokenizer and one template choice.

    ``template``: ``auto`` (the chat template; an error if the tokenizer has none),
    ``chat`` (the same, named explicitly) or ``vicuna``.
    """

    def __init__(self, tokenizer: Any, template: str | None, model_ref: str):
        template = (template or "auto").lower()
        if template not in TEMPLATES:
            raise CurateError(f"template {template!r}: choose one of {', '.join(TEMPLATES)}")
        if template != "vicuna" and not getattr(tokenizer, "chat_template", None):
            raise CurateError(
                f"the tokenizer of {model_ref} has no chat template: give a chat model, or pass "
                "template='vicuna' for a Vicuna-style model such as OFA-Sys/InsTagger"
            )
        self.tokenizer = tokenizer
        self.template = "vicuna" if template == "vicuna" else "chat"

    def render(self, prompt: Prompt) -> str:
        """The prompt text, ending where the assistant's reply begins."""
        why = check_prompt(prompt)
        if why:
            raise PromptError(why)
        messages = [{"role": m["role"], "content": m["content"]} for m in prompt]
        if self.template == "vicuna":
            return render_vicuna(messages)
        try:
            return self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        except Exception as exc:  # a strict template: roles must alternate, no system role, ...
            raise PromptError(f"the chat template refused this prompt: {exc}") from None

    def encode(self, prompts: list[Prompt]) -> list[list[int] | str]:
        """Token ids per prompt, or the reason (a string) it could not be rendered."""
        out: list[list[int] | str] = []
        texts: list[str] = []
        rows: list[int] = []
        for row, prompt in enumerate(prompts):
            try:
                texts.append(self.render(prompt))
                rows.append(row)
                out.append([])
            except PromptError as exc:
                out.append(str(exc))
        if texts:
            # a chat template writes its own special tokens; the vicuna text starts with bos
            vicuna = self.template == "vicuna"
            bos = self.tokenizer.bos_token_id
            ids = self.tokenizer(texts, add_special_tokens=vicuna)["input_ids"]
            for row, seq in zip(rows, ids):
                seq = list(seq)
                if vicuna and bos is not None and seq[:1] != [bos]:
                    seq.insert(0, bos)  # a tokenizer whose post-processor does not add it
                out[row] = seq
        return out
