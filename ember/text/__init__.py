"""``ember.text``: vocabularies, tokenizers (character, word, byte-level BPE), language-model
corpora and data sets, batching for language models and sequence classifiers, and the
character GPT with weights ember trained (``char_gpt``, ``CharGPT_Weights``)."""
from .batching import BPTTIterator, PadCollate, batchify, get_batch, pad_batch, random_blocks
from .bpe import GPT2_PATTERN, BPETokenizer
from .corpus import CharCorpus, Corpus, Dictionary
from .datasets import PennTreebank, TinyShakespeare
from .gpt import GPT, GPTConfig
from .models import CharGPT_Weights, char_gpt
from .tokenizers import CharTokenizer, WordTokenizer, basic_english_normalize, get_tokenizer
from .vocab import Vocab, build_vocab_from_iterator

__all__ = ["BPETokenizer", "BPTTIterator", "CharCorpus", "CharGPT_Weights", "CharTokenizer", "Corpus", "Dictionary",
           "GPT", "GPT2_PATTERN", "GPTConfig", "PadCollate", "PennTreebank", "TinyShakespeare", "Vocab",
           "WordTokenizer", "basic_english_normalize", "batchify", "build_vocab_from_iterator", "char_gpt",
           "get_batch", "get_tokenizer", "pad_batch", "random_blocks"]
