"""Sound-alike matching of misheard words (copilot.soundslike)."""

from __future__ import annotations

from copilot.soundslike import MATCH, alike, message_words, scores


def test_misheard_words_match_by_sound_or_spelling() -> None:
    assert alike("delver", "delivery") >= MATCH  # same Metaphone key, TLFR
    assert alike("delver", "deliver") >= MATCH
    assert alike("parking", "parking") == 1.0
    assert alike("dogs", "delivery") < MATCH
    assert "bikecrac" in message_words("is there bike crac")
    assert not message_words("uh um ok so can you")  # fillers and function words say nothing


def test_scores_put_the_article_that_says_the_misheard_word_first() -> None:
    articles = [
        "Do you have takeout? Takeout is available.",
        "Do you offer delivery service? Delivery is not offered.",
        "Are dogs allowed? Dogs are not allowed.",
    ]
    got = scores("ok do they delver food", articles)
    assert got[1] > 0 and got[1] == max(got)
    assert got[0] == got[2] == 0.0
    # Rare words weigh more: "parking" in one article beats "restaurant" in all of them.
    got = scores(
        "restaurant parking",
        ["The restaurant has street parking.", "The restaurant is casual.", "The restaurant has no wifi."],
    )
    assert got[0] > got[1] == got[2] > 0
    assert scores("", articles) == [0.0, 0.0, 0.0]
