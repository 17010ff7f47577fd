"""``ember.text``: vocabularies, tokenizers (character, word, byte-level BPE), language-model
corpora and data sets, and batching for language models and sequence classifiers."""
from .batching import BPTTIterator, PadCollate, batchify, get_batch, pad_batch, random_blocks
from .bpe import GPT2_PATTERN, BPETokenizer
from .corpus import CharCorpus, Corpus, Dictionary
from .datasets import PennTreebank, TinyShakespeare
from .gpt import GPT, GPTConfig
from .tokenizers import CharTokenizer, WordTokenizer, basic_english_normalize, get_tokenizer
from .vocab import Vocab, build_vocab_from_iterator

__all__ = ["BPETokenizer", "BPTTIterator", "CharCorpus", "CharTokenizer", "Corpus", "Dictionary", "GPT",
           "GPT2_PATTERN", "GPTConfig", "PadCollate", "PennTreebank", "TinyShakespeare", "Vocab", "WordTokenizer",
           "basic_english_normalize", "batchify", "build_vocab_from_iterator", "get_batch",
           "get_tokenizer", "pad_batch", "random_blocks"]
