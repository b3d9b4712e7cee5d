"""Text wrapping for the PDF (documents/wrapping.py): lines that fit, the
words kept in order, long words cut, paragraphs kept — in one look-up per
character, however long the paragraph."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.documents.wrapping import Line, wrap

pytestmark = pytest.mark.unit


def width_of(code: int) -> int:
    """A made-up font: spaces 300 units, capitals 700, the rest 500."""
    return 300 if code == 32 else 700 if chr(code).isupper() else 500


def measure(text: str) -> int:
    return sum(width_of(ord(char)) for char in text)


def test_given_a_sentence_wider_than_the_column_when_wrapped_then_it_breaks_between_words():
    lines = wrap("Pose de la cloison et reprise des joints", 6_000, width_of)

    assert lines == [
        Line("Pose de la", False),  # P 700 + 3 × 500, spaces 300: 5,200; "cloison" would take it to 9,000
        Line("cloison et", False),
        Line("reprise des", False),
        Line("joints", True),
    ]
    assert all(measure(line.text) <= 6_000 for line in lines)


def test_given_words_that_fit_when_wrapped_then_each_line_is_as_full_as_the_column_allows():
    text = "aa bb cc dd ee ff"  # words of 1,000, spaces of 300
    lines = wrap(text, 2_300, width_of)

    assert [line.text for line in lines] == ["aa bb", "cc dd", "ee ff"]  # 2,300 each: exactly full
    assert [line.ends_paragraph for line in lines] == [False, False, True]


def test_given_a_word_wider_than_the_column_when_wrapped_then_it_is_cut_between_characters():
    lines = wrap("ok " + "W" * 9 + " e", 2_000, width_of)  # W: 700 units, two fit in 2,000

    # the word's last piece (700) leaves room for the next word: 700 + 300 + 500
    assert [line.text for line in lines] == ["ok", "WW", "WW", "WW", "WW", "W e"]
    assert all(measure(line.text) <= 2_000 for line in lines)


def test_given_newlines_when_wrapped_then_each_paragraph_starts_a_line_and_ends_one():
    lines = wrap("Titre\n\nun deux", 10_000, width_of)

    assert lines == [Line("Titre", True), Line("", True), Line("un deux", True)]


def test_given_a_character_wider_than_the_column_when_wrapped_then_it_still_gets_a_line():
    assert [line.text for line in wrap("AB", 100, width_of)] == ["A", "B"]


def test_given_a_paragraph_of_60000_characters_when_wrapped_then_each_is_measured_about_once():
    """fpdf2's multi_cell re-measured the line for every character added:
    4.1 million look-ups for 60,000 characters. Here: about one each."""
    calls = 0

    def counting(code: int) -> int:
        nonlocal calls
        calls += 1
        return width_of(code)

    text = " ".join(["facturation"] * 5_000)  # 59,999 characters, one paragraph
    lines = wrap(text, 40_000, counting)

    assert len(lines) == 834  # six words a line: 6 × 5,500 + 5 × 300 = 34,500; a seventh: 40,300
    assert calls <= len(text) + 1


@given(
    st.text(alphabet=st.sampled_from("ab W\n"), max_size=300),
    st.integers(min_value=400, max_value=6_000),
)
def test_property_every_line_fits_and_no_word_is_lost(text, room):
    lines = wrap(text, room, width_of)

    for line in lines:
        assert measure(line.text) <= room or len(line.text) == 1
    assert sum(line.ends_paragraph for line in lines) == text.count("\n") + 1
    # the words come back in order: only the spaces at the breaks, and the cuts, are gone
    assert "".join(line.text.replace(" ", "") for line in lines) == text.replace(" ", "").replace("\n", "")
