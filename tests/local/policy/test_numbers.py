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


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Wake me up at 5.30 tomorrow.", "wake me up at five thirty tomorrow"),  # Whisper's times
        ("Book a table for 2 at 7.30.", "book a table for two at seven thirty"),
        ("Transfer $20.00 to Maria.", "transfer twenty dollars to maria"),  # no cents said
        ("Call Dr. Smith at the clinic.", "call doctor smith at the clinic"),
        ("Mr Brown and Mrs Brown", "mister brown and missus brown"),
    ],
)
def test_canonical_words_read_times_and_titles_as_said(written: str, said: str) -> None:
    assert canonical_words(written) == canonical_words(said)


def test_canonical_words_keep_different_numbers_apart() -> None:
    assert canonical_words("at 5.30") != canonical_words("at 5.3")
    assert canonical_words("$15") != canonical_words("fifty dollars")
    assert canonical_words("It costs 3.75 euros") == ["it", "costs", "3", "7", "5", "euros"]
