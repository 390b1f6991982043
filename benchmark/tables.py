"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-align text columns and right-align numeric ones, with a rule under the header."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(row[i], (int, float)) for row in rows) and bool(rows)
        for i in range(len(headers))
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]

    def render(line: list[str]) -> str:
        parts = [
            text.rjust(width) if is_number else text.ljust(width)
            for text, width, is_number in zip(line, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(cells[0]), rule, *(render(line) for line in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"  # callers round to the precision they mean
    return str(value)
