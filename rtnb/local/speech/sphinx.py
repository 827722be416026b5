"""Offline speech-to-text with pocketsphinx and a small language model built from domain text.

The generic pocketsphinx language model does badly on synthetic speech, but a tiny n-gram model
built from the sentences a demo is likely to hear (a built-in conversational corpus plus the
caller's texts, e.g. instructions and tool descriptions) recognises them well. Cutting the
pronunciation dictionary down to the model's words makes the decoder start in ~0.1 s instead of
~10 s for the full CMU dictionary.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Iterable

import numpy as np
import pocketsphinx
from pocketsphinx.lm import ArpaBoLM

from rtnb.protocol.audio import resample, to_bytes, to_int16

__all__ = ["BASE_CORPUS", "DECODER_RATE", "Transcriber", "normalize_sentences"]

DECODER_RATE = 16_000
"""Sample rate the pocketsphinx en-us acoustic model expects, in Hz."""

_SILENCE_PEAK = 300  # int16 peak below which audio holds no speech (about -40 dBFS)
_PAD_MS = 300  # silence around the utterance; without it the first and last words are often lost

BASE_CORPUS: tuple[str, ...] = (
    "hello",
    "hi",
    "hi there",
    "hey",
    "hello how are you",
    "good morning",
    "good afternoon",
    "good evening",
    "good night",
    "goodbye",
    "bye",
    "see you later",
    "how are you",
    "how are you doing today",
    "i am fine thank you",
    "nice to meet you",
    "my name is alex",
    "what is your name",
    "who are you",
    "thank you",
    "thanks",
    "thank you very much",
    "you are welcome",
    "please",
    "sorry",
    "excuse me",
    "yes",
    "no",
    "yes please",
    "no thank you",
    "okay",
    "ok",
    "sure",
    "maybe",
    "of course",
    "stop",
    "wait",
    "cancel",
    "never mind",
    "go on",
    "continue",
    "repeat that",
    "say that again",
    "can you repeat that please",
    "i do not understand",
    "that is right",
    "that is wrong",
    "can you help me",
    "i need help",
    "help me please",
    "what can you do",
    "tell me a story",
    "tell me a joke",
    "tell me something interesting",
    "what time is it",
    "what time is it now",
    "what is the time",
    "what day is it today",
    "what is the date today",
    "what is the weather",
    "what is the weather today",
    "what is the weather like today",
    "what is the weather in paris",
    "what is the weather in london",
    "what is the weather like in tokyo",
    "how is the weather in new york",
    "will it rain tomorrow",
    "is it going to rain today",
    "is it sunny",
    "is it cold outside",
    "what is the temperature",
    "what is the temperature in berlin",
    "set a timer for five minutes",
    "set an alarm for seven",
    "remind me tomorrow",
    "call my mother",
    "play some music",
    "turn it up",
    "turn it down",
    "turn on the lights",
    "turn off the lights",
    "how much does it cost",
    "where is the nearest station",
    "how far is it",
    "how do i get there",
    "i would like to book a table",
    "i would like to order a pizza",
    "i want to speak to a person",
    "what is two plus two",
    "what is the capital of france",
    "one two three four five six seven eight nine ten",
    "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty",
    "zero thirty forty fifty sixty seventy eighty ninety hundred thousand million",
    "first second third last next",
    "monday tuesday wednesday thursday friday saturday sunday",
    "today tomorrow yesterday morning afternoon evening night week month year",
    "paris london berlin madrid rome tokyo new york san francisco los angeles chicago",
    "boston seattle toronto sydney moscow beijing shanghai mumbai delhi dubai",
    "amsterdam vienna dublin lisbon prague stockholm oslo copenhagen brussels zurich",
)
"""Common conversational English always included in the language model."""

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number_words(n: int) -> list[str]:
    """Spell a non-negative integer below a billion as words."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    for size, name in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = _number_words(n % size) if n % size else []
            return [*_number_words(n // size), name, *rest]
    raise AssertionError("unreachable")


_SENTENCE_BREAK = re.compile(r"[.!?;:\n]+(?:\s|$)|\n")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+")


def _tokens(sentence: str) -> list[str]:
    """Lowercase words of one sentence, identifiers split and numbers spelled out."""
    text = _CAMEL.sub(" ", sentence).replace("_", " ").replace("’", "'").lower()
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if token.isdigit():
            words.extend(_number_words(int(token)) if len(token) < 10 else [])
        else:
            words.append(token)
    return words


def normalize_sentences(texts: Iterable[str], known: set[str] | None = None) -> list[str]:
    """Split texts into normalised sentences of lowercase words.

    Tool names such as ``get_weather`` or ``getWeather`` become ``get weather``, punctuation is
    dropped and digits are spelled out. With ``known``, sentences are cut at words outside it so
    that no n-gram spans a dropped word.
    """
    sentences: list[str] = []
    for text in texts:
        for part in _SENTENCE_BREAK.split(text):
            run: list[str] = []
            for word in [*_tokens(part), None]:
                if word is not None and (known is None or word in known):
                    run.append(word)
                elif run:
                    sentences.append(" ".join(run))
                    run = []
    return sentences


_model_dir = os.path.join(pocketsphinx.get_model_path(), "en-us")
_dict_lock = threading.Lock()
_dictionary: dict[str, list[str]] | None = None


def _pronunciations() -> dict[str, list[str]]:
    """CMU dictionary lines grouped by word (``word`` and ``word(2)`` together), loaded once."""
    global _dictionary
    with _dict_lock:
        if _dictionary is None:
            entries: dict[str, list[str]] = {}
            path = os.path.join(_model_dir, "cmudict-en-us.dict")
            with open(path, encoding="utf-8") as f:
                for line in f:
                    head = line.split(" ", 1)[0]
                    entries.setdefault(head.split("(", 1)[0], []).append(line.rstrip("\n"))
            _dictionary = entries
        return _dictionary


class Transcriber:
    """Speech recogniser for one session, tuned to a vocabulary of expected sentences.

    Not thread-safe, but it may be used from any one thread at a time (e.g. ``asyncio.to_thread``).
    """

    def __init__(self, texts: Iterable[str] = ()) -> None:
        """Build the decoder for :data:`BASE_CORPUS` plus ``texts``."""
        self._key: tuple[str, ...] | None = None
        self._decoder: pocketsphinx.Decoder | None = None
        self.set_vocabulary(texts)

    @property
    def words(self) -> frozenset[str]:
        """Words the recogniser can output."""
        return frozenset(" ".join(self._key or ()).split())

    def set_vocabulary(self, texts: Iterable[str]) -> None:
        """Rebuild the language model for :data:`BASE_CORPUS` plus ``texts`` if they changed.

        ``texts`` may be any prose: instructions, tool names and descriptions, expected replies.
        Words missing from the CMU dictionary are ignored.
        """
        pronunciations = _pronunciations()
        sentences = normalize_sentences([*BASE_CORPUS, *texts], set(pronunciations))
        key = tuple(sorted(sentences))
        if key == self._key:
            return
        self._decoder = _build_decoder(key, pronunciations)
        self._key = key

    def transcribe(self, pcm16: bytes, sample_rate: int = 24_000) -> str:
        """Recognise PCM16 mono speech and return lowercase words (``""`` if none)."""
        if self._decoder is None:
            raise RuntimeError("transcriber has no decoder")
        samples = resample(to_int16(pcm16), sample_rate, DECODER_RATE)
        if samples.size == 0 or np.abs(samples).max() < _SILENCE_PEAK:
            return ""  # the decoder invents short words in pure silence
        pad = np.zeros(DECODER_RATE * _PAD_MS // 1000, dtype=np.int16)
        audio = to_bytes(np.concatenate([pad, samples, pad]))
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(audio, no_search=False, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        if hyp is None:
            return ""
        return " ".join(w for w in hyp.hypstr.split() if not w.startswith(("<", "[", "+")))


def _build_decoder(
    sentences: tuple[str, ...], pronunciations: dict[str, list[str]]
) -> pocketsphinx.Decoder:
    lm = ArpaBoLM(text="\n".join(sentences), add_start=True)
    lm.compute()
    words = sorted({w for s in sentences for w in s.split()})
    with tempfile.TemporaryDirectory(prefix="rtnb-stt-") as tmp:
        lm_path = os.path.join(tmp, "model.lm")
        dict_path = os.path.join(tmp, "model.dict")
        with open(lm_path, "w", encoding="utf-8") as f:
            lm.write(f)
        with open(dict_path, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for w in words for line in pronunciations[w])
        # The decoder reads both files while it is constructed, so the directory can go.
        return pocketsphinx.Decoder(
            hmm=os.path.join(_model_dir, "en-us"),
            lm=lm_path,
            dict=dict_path,
            samprate=DECODER_RATE,
            loglevel="FATAL",
        )
