"""Numbers in transcripts: values for the policy, a canonical form for word error rates."""

from __future__ import annotations

import pytest

from rtnb.local.policy.numbers import canonical_words, find_numbers


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Convert $20 to yen.", [20.0]),
        ("Convert twenty dollars to yen", [20.0]),
        ("Cancel order number four two seven.", [427.0]),
        ("four hundred and two", [402.0]),
        ("four hundred twenty seven", [427.0]),
        ("one thousand five hundred people, or 1,500", [1500.0, 1500.0]),
        ("at 4:30 pm", [4.0, 30.0]),
        ("seven thirty", [7.0, 30.0]),
        ("It costs 3.75 euros", [3.75]),
        ("no numbers here", []),
    ],
)
def test_find_numbers(text: str, numbers: list[float]) -> None:
    assert find_numbers(text) == numbers


def test_canonical_words_make_spellings_and_digits_equal() -> None:
    assert canonical_words("Convert $20 to yen.") == canonical_words(
        "convert twenty dollars to yen"
    )
    assert canonical_words("Order 427, please!") == canonical_words("order four two seven please")
    assert canonical_words("Book a table at 7:30") == canonical_words(
        "book a table at seven thirty"
    )
    assert canonical_words("What is the weather in Paris?") == [
        "what", "is", "the", "weather", "in", "paris"
    ]  # fmt: skip
    assert canonical_words("Paris") != canonical_words("Paris, Texas")
