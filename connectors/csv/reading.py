"""A payload's bytes to rows, streamed, each with the physical line it starts on.

CSV goes through the ``csv`` module over an ``io.TextIOWrapper``; JSON lines are one
``json.loads`` per line. Neither reads the file whole: lines are capped in length, so a
file without line breaks cannot fill memory either.

Bytes that are not valid in the profile's encoding are decoded with
``surrogateescape``, so the stream never stops on them; the row holding them is
rejected by line instead (an accented name in a latin-1 file read as UTF-8 spoils its
row, not the file). A UTF-8 byte order mark and CRLF, CR or LF line ends are always
accepted.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import IO, Any

from connectors.base import PayloadError
from connectors.csv.profile import Profile
from graph.intake import RecordRejection

MAX_LINE = 1 << 20  # characters; real export lines are a few thousand at most
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bad bytes
_SURROGATE = re.compile("[\ud800-\udfff]")
_SNIFF_LINES = 100

Row = Any  # a list of cells (CSV) or a JSON object (JSON lines)
Cell = Callable[[Row], object]  # one column of a row as found there (None when absent)
Locate = Callable[[str], Cell | None]  # a column's reader, or None when the file lacks it


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of one payload, and how to find a named column in them."""

    locate: Locate
    rows: Iterator[tuple[int, Row | RecordRejection]]
    empty_word: str  # "cell" or "field": how a rejection names an empty value


def open_text(payload: IO[bytes], encoding: str) -> io.TextIOWrapper:
    """Text over the payload; the caller detaches it so the payload stays open."""
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"  # the same, with a leading byte order mark dropped
    # newline="" keeps line ends for the csv module (quoted cells may hold them) while
    # still splitting lines on CRLF, CR and LF alike.
    return io.TextIOWrapper(payload, encoding=encoding, errors="surrogateescape", newline="")


def read_table(
    text: io.TextIOWrapper, profile: Profile, filename: str, needed: Mapping[str, bool]
) -> Table:
    """The payload's rows; PayloadError when a CSV header lacks ``needed`` columns."""
    lines = _capped_lines(text)
    head = []
    for line in lines:
        head.append(line)
        if line.strip() or len(head) >= _SNIFF_LINES:
            break
    lines = chain(head, lines)
    first = next((line for line in head if line.strip()), "")
    if _is_json_lines(profile.format, filename, first):
        return _json_lines(lines)
    return _csv_table(lines, profile, needed)


def _is_json_lines(declared: str, filename: str, first_line: str) -> bool:
    if declared != "auto":
        return declared == "jsonl"
    suffix = filename.lower().rpartition(".")[2] if "." in filename else ""
    if suffix in ("jsonl", "ndjson"):
        return True
    if suffix in ("csv", "tsv", "txt"):
        return False
    return first_line.lstrip("\ufeff \t").startswith("{")


def _capped_lines(text: io.TextIOWrapper) -> Iterator[str]:
    number = 0
    while True:
        line = text.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE:
            raise PayloadError(
                f"line {number}",
                f"a line longer than {MAX_LINE} characters: not a row-by-row export",
            )
        yield line


def _shown(text: str) -> str:
    return _UNDECODABLE.sub("\ufffd", text)


def _csv_table(lines: Iterator[str], profile: Profile, needed: Mapping[str, bool]) -> Table:
    offset = profile.header_row - 1  # physical lines before the header
    for _ in range(offset):
        if next(lines, None) is None:
            raise PayloadError(f"line {profile.header_row}", "the file ends before its header row")
    reader = csv.reader(lines, delimiter=profile.delimiter, quotechar=profile.quote, strict=False)
    try:
        header = next(reader, None)
        while header is not None and not any(name.strip() for name in header):
            header = next(reader, None)  # blank lines above the header
    except csv.Error as error:
        raise PayloadError(
            f"line {profile.header_row}", f"header not readable as CSV: {error}"
        ) from None
    if header is None:
        raise PayloadError(f"line {profile.header_row}", "empty file: no header row")
    header_line = f"line {offset + reader.line_num}"
    if header:
        header[0] = header[0].lstrip("\ufeff")  # a BOM left by a non-UTF-8 encoding name
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        if name.strip():
            positions.setdefault(name.strip().casefold(), []).append(position)
    _check_header(header, positions, needed, profile, header_line)
    width = len(header)

    def locate(name: str) -> Cell | None:
        found = positions.get(name.strip().casefold())
        if not found:
            return None
        position = found[0]
        return lambda cells: cells[position] if position < len(cells) else None

    def rows() -> Iterator[tuple[int, Row | RecordRejection]]:
        done = reader.line_num  # lines the reader has taken so far
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise PayloadError(
                    f"line {offset + done + 1}", f"not readable as CSV: {error}"
                ) from None
            line = offset + done + 1  # where the row starts, if a quoted cell spans lines
            done = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, or only delimiters: no data
            location = f"line {line}"
            if any(_UNDECODABLE.search(cell) for cell in cells):
                yield (
                    line,
                    RecordRejection(
                        location,
                        "row",
                        f"holds bytes that are not valid {profile.encoding} (is the profile's encoding right?)",
                    ),
                )
            elif len(cells) > width and any(cell.strip() for cell in cells[width:]):
                yield (
                    line,
                    RecordRejection(
                        location,
                        "row",
                        f"has {len(cells)} cells but the header has {width} columns "
                        f"(a value with an unquoted {profile.delimiter!r} in it?)",
                    ),
                )
            else:
                yield line, cells

    return Table(locate, rows(), "cell")


def _check_header(
    header: list[str],
    positions: Mapping[str, list[int]],
    needed: Mapping[str, bool],
    profile: Profile,
    where: str,
) -> None:
    missing = [
        name
        for name, required in needed.items()
        if required and name.strip().casefold() not in positions
    ]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        found = ", ".join(repr(_shown(name)) for name in header[:12] if name.strip())
        more = ", ..." if len(header) > 12 else ""
        hint = ""
        if len(header) == 1:
            other = next(
                (mark for mark in ";\t|," if mark != profile.delimiter and mark in header[0]), None
            )
            if other:
                hint = f"; is the delimiter {other!r} rather than {profile.delimiter!r}?"
        if any(_UNDECODABLE.search(name) for name in header):
            hint += f"; the header has bytes that are not valid {profile.encoding}: is the encoding right?"
        raise PayloadError(
            where,
            f"the header lacks the profile's columns {listed} (it has: {found}{more}){hint}",
        )
    for name in needed:
        found_at = positions.get(name.strip().casefold(), [])
        if len(found_at) > 1:
            columns = " and ".join(str(position + 1) for position in found_at)
            raise PayloadError(
                where,
                f"column {name!r} appears more than once in the header (columns {columns}): which one is meant?",
            )


def _json_lines(lines: Iterator[str]) -> Table:
    def locate(name: str) -> Cell:
        return lambda record: record.get(name)

    def rows() -> Iterator[tuple[int, Row | RecordRejection]]:
        for number, line in enumerate(lines, start=1):
            text = line.strip().lstrip("\ufeff")
            if not text:
                continue
            location = f"line {number}"
            if _UNDECODABLE.search(text):
                yield (
                    number,
                    RecordRejection(
                        location, "line", "holds bytes that are not valid in the profile's encoding"
                    ),
                )
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                yield (
                    number,
                    RecordRejection(location, f"column {error.colno}", f"not JSON: {error.msg}"),
                )
                continue
            except (ValueError, RecursionError) as error:  # huge integers, deep nesting
                yield (
                    number,
                    RecordRejection(location, "line", f"not readable JSON: {type(error).__name__}"),
                )
                continue
            if not isinstance(record, dict):
                yield number, RecordRejection(location, "line", "each line must be one JSON object")
                continue
            if "\\u" in text and not _encodable_within_limits(record):
                # "\ud800" escapes decode to lone surrogates, which no store can write.
                yield (
                    number,
                    RecordRejection(
                        location, "line", "holds a lone surrogate escape: not valid Unicode text"
                    ),
                )
                continue
            yield number, record

    return Table(locate, rows(), "field")


def _encodable(value: object) -> bool:
    if isinstance(value, str):
        return not _SURROGATE.search(value)
    if isinstance(value, dict):
        return all(_encodable(key) and _encodable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


def _encodable_within_limits(value: object) -> bool:
    try:
        return _encodable(value)
    except RecursionError:
        return False
