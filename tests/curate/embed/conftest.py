"""A tiny random sentence-transformers model, built from a config and saved like a real one."""

from pathlib import Path

import pytest

CORPUS = [
    "how do I bake bread at home",
    "what is the capital of France",
    "write a poem about the sea",
    "explain machine learning to a child",
    "translate good morning into Russian",
] * 20


def build_sentence_transformer(root: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer import modules as st_models
    except ImportError:
        from sentence_transformers import models as st_models
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        CORPUS, trainers.WordPieceTrainer(vocab_size=120, special_tokens=specials)
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=fast.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    bert_dir = root / "bert"
    BertModel(config).save_pretrained(bert_dir)
    fast.save_pretrained(bert_dir)
    word = st_models.Transformer(str(bert_dir), max_seq_length=48)
    pooling = st_models.Pooling(word.get_embedding_dimension(), "mean")
    out = root / "st"
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_sentence_transformer(tmp_path_factory) -> Path:
    return build_sentence_transformer(tmp_path_factory.mktemp("tiny-st"))
