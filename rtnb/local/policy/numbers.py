"""Numbers in what people say and what recognisers write: "$20", "4:30", "twenty dollars".

Whisper writes digits and symbols ("Convert $20 to yen", "order 427"); pocketsphinx and
people's typed text may spell them ("twenty dollars", "four two seven"). The policy needs the
values either way, and the speech benchmark needs one canonical form to count word errors.
"""

from __future__ import annotations

import re

__all__ = ["canonical_words", "find_numbers"]

_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds", "¥": "yen"}
_TITLES = {"dr": "doctor", "mr": "mister", "mrs": "missus", "prof": "professor"}
"""Titles recognisers abbreviate ("Dr. Smith"), as Whisper's own English normaliser spells them."""

_TOKEN = re.compile(r"[$€£¥]?\d[\d,]*(?:\.\d+)?%?|[a-z]+(?:'[a-z]+)?|[$€£¥%]", re.IGNORECASE)


def _digits_value(token: str) -> float:
    return float(token.strip("$€£¥%").replace(",", ""))


def _spoken_numbers(words: list[str]) -> list[tuple[int, int, float]]:
    """``(start, end, value)`` for each run of number words (end exclusive).

    "four hundred twenty seven" is one number; "four two seven" (digits read one by one, as for
    an order or phone number) is one number too, 427; "seven thirty" is two.
    """
    spans: list[tuple[int, int, float]] = []
    i = 0
    while i < len(words):
        if words[i] not in _UNITS and words[i] not in _TENS:
            i += 1
            continue
        start = i
        if words[i] in _UNITS and _UNITS[words[i]] < 10:
            run = i
            while run < len(words) and words[run] in _UNITS and _UNITS[words[run]] < 10:
                run += 1
            if run - i > 1 and (run == len(words) or words[run] not in _SCALES):
                digits = "".join(str(_UNITS[w]) for w in words[i:run])
                spans.append((start, run, float(digits)))
                i = run
                continue
        total = current = 0
        while i < len(words):
            word = words[i]
            if word in _UNITS and current % 10 == 0 and (current % 100 == 0 or current >= 20):
                if current % 100 and _UNITS[word] >= 10:
                    break
                current += _UNITS[word]
            elif word in _TENS and current % 100 == 0:
                current += _TENS[word]
            elif word in _SCALES and (current or total):
                scale = _SCALES[word]
                if scale == 100:
                    current = max(current, 1) * 100
                else:
                    total += max(current, 1) * scale
                    current = 0
            elif word == "and" and i + 1 < len(words) and words[i + 1] in {*_UNITS, *_TENS}:
                pass
            else:
                break
            i += 1
        spans.append((start, i, float(total + current)))
    return spans


def find_numbers(text: str) -> list[float]:
    """Every number in ``text``, in order: digits ("$20", "1,500", "4:30" gives 4 and 30) and
    spelled-out numbers ("twenty dollars", "four hundred and two", "four two seven")."""
    tokens = _TOKEN.findall(text)
    words = [t.lower() for t in tokens]
    spoken = {start: (end, value) for start, end, value in _spoken_numbers(words)}
    numbers: list[float] = []
    i = 0
    while i < len(tokens):
        if i in spoken:
            end, value = spoken[i]
            numbers.append(value)
            i = end
            continue
        if tokens[i][0].isdigit() or (len(tokens[i]) > 1 and tokens[i][1].isdigit()):
            numbers.append(_digits_value(tokens[i]))
        i += 1
    return numbers


def canonical_words(text: str) -> list[str]:
    """Lowercase words with numbers as digit strings, one digit a word, currency symbols as words
    and titles written out: "Convert $20 to yen." and "convert twenty dollars to yen" give the
    same list, as do "Wake me at 5.30" and "wake me at five thirty", "Dr. Smith" and "doctor
    Smith".

    The form the speech benchmark and evaluations compare transcripts in (word error rate).
    """
    out: list[str] = []
    words = [t.lower() for t in _TOKEN.findall(text.replace("-", " "))]
    spoken = {start: (end, value) for start, end, value in _spoken_numbers(words)}
    i = 0
    while i < len(words):
        word = words[i]
        if i in spoken:
            end, value = spoken[i]
            out.extend(_number_text(value))
            i = end
            continue
        if word[0] in _CURRENCY and len(word) > 1:
            out.extend([*_written_digits(word), _CURRENCY[word[0]]])
        elif word[0].isdigit():
            out.extend(_written_digits(word))
            if word.endswith("%"):
                out.append("percent")
        elif word == "%":
            out.append("percent")
        elif word not in _CURRENCY:
            out.append(_TITLES.get(word, word))
        i += 1
    return out


def _number_text(value: float) -> list[str]:
    text = f"{value:.10g}" if value != int(value) else str(int(value))
    return list(text.replace(".", ""))


def _written_digits(token: str) -> list[str]:
    """The digits of a written number as said: "5.30" (a time) is "five thirty", so its zero
    stays; "$20.00" is "twenty dollars", so zero cents go."""
    whole, _, fraction = token.strip("$€£¥%").replace(",", "").partition(".")
    return list(str(int(whole)) + (fraction if fraction.strip("0") else ""))
