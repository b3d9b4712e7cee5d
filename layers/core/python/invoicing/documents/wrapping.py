"""Text wrapped into lines of a given width, in one pass over its characters.

fpdf2's `multi_cell` re-measures the line it is building each time it adds
a character: a paragraph of n characters costs n²/2 width look-ups (a
1,000-line invoice with 600-character descriptions took 33 s to lay out).
Here each character's width is looked up once, in the font's own width
table, and summed as integers (thousandths of an em): the same greedy,
word-by-word breaking, in linear time.

Pure: no fpdf2 import, so it is tested and timed on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Line(NamedTuple):
    text: str
    ends_paragraph: bool  # a justified paragraph leaves its last line as it is


def wrap(text: str, max_width: int, width_of: Callable[[int], int]) -> list[Line]:
    """The lines `text` takes in a column `max_width` wide, both in the
    font's units (`width_of` gives a code point's advance).

    Lines break at spaces, the space at the break is dropped; a word wider
    than the column is cut between characters; each newline starts a line
    (an empty paragraph is an empty line). A character wider than the whole
    column still gets a line of its own."""
    lines: list[Line] = []
    space = width_of(32)
    for paragraph in text.split("\n"):
        line: list[str] = []  # the words of the line being built
        used = 0  # its width, spaces between words included
        for word in paragraph.split(" "):
            width = sum(map(width_of, map(ord, word)))
            if line and used + space + width <= max_width:
                line.append(word)
                used += space + width
                continue
            if line:
                lines.append(Line(" ".join(line), False))
            if width <= max_width:
                line, used = [word], width
                continue
            pieces, used = _cut(word, max_width, width_of)
            lines.extend(Line(piece, False) for piece in pieces[:-1])
            line = [pieces[-1]]
        lines.append(Line(" ".join(line), True))
    return lines


def _cut(word: str, max_width: int, width_of: Callable[[int], int]) -> tuple[list[str], int]:
    """A word too wide for the column, cut into pieces that fit (the last
    one may have room left), with the width of that last piece."""
    pieces: list[str] = []
    start = used = 0
    for index, char in enumerate(word):
        width = width_of(ord(char))
        if used + width > max_width and index > start:
            pieces.append(word[start:index])
            start, used = index, 0
        used += width
    pieces.append(word[start:])
    return pieces, used
