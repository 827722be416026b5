"""Word error rate in the canonical form of :func:`rtnb.local.numbers.canonical_words`.

"Convert $20 to yen" and "convert twenty dollars to yen" are the same words: recognisers write
numbers either way, and a number written differently is not a recognition error.
"""

from __future__ import annotations

from collections.abc import Iterable

from rtnb.local.numbers import canonical_words

__all__ = ["word_error_rate", "word_errors"]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length), both in the canonical form."""
    ref, hyp = canonical_words(reference), canonical_words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1], len(ref)


def word_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """The word error rate of (reference, hypothesis) pairs: all errors over all reference words
    (0.0 for no reference words and no hypothesis words, 1.0 for words out of nothing)."""
    errors = words = 0
    for reference, hypothesis in pairs:
        e, n = word_errors(reference, hypothesis)
        errors, words = errors + e, words + n
    if words == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / words
