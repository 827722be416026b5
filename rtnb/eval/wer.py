"""Word error rate in the canonical form of :func:`rtnb.local.policy.numbers.canonical_words`.

"Convert $20 to yen" and "convert twenty dollars to yen" are the same words: recognisers write
numbers either way, and a number written differently is not a recognition error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rtnb.local.policy.numbers import canonical_words

__all__ = ["Alignment", "align_words", "repeats_a_phrase", "word_error_rate", "word_errors"]


@dataclass(frozen=True)
class Alignment:
    """A transcript aligned to what was said, in canonical words."""

    substitutions: int
    deletions: int
    insertions: int
    """Transcript words that align to nothing said."""
    reference_words: int

    @property
    def errors(self) -> int:
        """The edit distance: substitutions + deletions + insertions."""
        return self.substitutions + self.deletions + self.insertions


def align_words(reference: str, hypothesis: str) -> Alignment:
    """Levenshtein alignment of the canonical words, counting each kind of error (of the
    alignments with the fewest errors, the one with the fewest substitutions)."""
    ref, hyp = canonical_words(reference), canonical_words(hypothesis)
    # cost[j] = (errors, substitutions, deletions, insertions) of ref[:i] against hyp[:j]
    cost = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, r in enumerate(ref, 1):
        row = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, 1):
            e, s, d, n = cost[j - 1]
            match = (e + (r != h), s + (r != h), d, n)
            e, s, d, n = cost[j]
            delete = (e + 1, s, d + 1, n)
            e, s, d, n = row[j - 1]
            insert = (e + 1, s, d, n + 1)
            row.append(min(match, delete, insert))
        cost = row
    _, s, d, n = cost[-1]
    return Alignment(s, d, n, len(ref))


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length), both in the canonical form."""
    found = align_words(reference, hypothesis)
    return found.errors, found.reference_words


def repeats_a_phrase(reference: str, hypothesis: str, length: int = 3) -> bool:
    """Whether ``hypothesis`` says some phrase of ``length`` words more often than ``reference``
    (in canonical words): the shape of a recogniser that went on talking after the speech."""

    def counts(text: str) -> Counter[tuple[str, ...]]:
        words = canonical_words(text)
        return Counter(tuple(words[i : i + length]) for i in range(len(words) - length + 1))

    said = counts(reference)
    return any(n > 1 and n > said[phrase] for phrase, n in counts(hypothesis).items())


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
