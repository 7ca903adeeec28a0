"""Reading an uploaded CSV file: its encoding, its header and its rows, streamed.

Excel on Windows saves CSV as Windows-1252 ("CSV") or UTF-8 with a BOM ("CSV UTF-8"), and
"Unicode text" as UTF-16; other systems write plain UTF-8. The file is read as a stream of
lines (an upload over FILE_UPLOAD_MAX_MEMORY_SIZE is already a temporary file on disk), so
a 50 MB file is never held in memory whole. Every problem is a RowError naming the line and
field; nothing here raises anything but ImportRejected.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from charset_normalizer import from_bytes
from django.core.files import File

SAMPLE = 64 * 1024        # bytes looked at to tell the encoding when the file is not UTF-8
MAX_REPORTED = 1000       # problems kept to show; the rest are only counted
MAX_FIELD = 10_000        # characters in one cell (addresses are the longest real ones)


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self):
        return f"line {self.line}, {self.field}: {self.message}"


class Problems:
    """The bad rows of a file: the first MAX_REPORTED kept, every one counted.

    A file of a million bad rows must not hold a million messages in memory.
    """

    def __init__(self):
        self.items: list[RowError] = []
        self.total = 0

    def append(self, error: RowError) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append(error)

    def add(self, line: int, field: str, message: str) -> None:
        self.append(RowError(line, field, message))

    def __len__(self):
        return self.total

    def __bool__(self):
        return self.total > 0


class ImportRejected(Exception):
    def __init__(self, errors, source: str = "", encoding: str = ""):
        if isinstance(errors, Problems):
            self.errors, self.total = sorted(errors.items, key=lambda e: e.line), errors.total
        else:
            self.errors, self.total = list(errors), len(errors)
        self.source = source
        self.encoding = encoding
        super().__init__(f"{self.total} bad row(s)")

    @property
    def more(self) -> int:
        """Problems counted but not listed."""
        return self.total - len(self.errors)

    def lines(self) -> list[str]:
        prefix = f"{self.source}: " if self.source else ""
        out = [f"{prefix}{e}" for e in self.errors]
        if self.more:
            out.append(f"{prefix}… and {self.more} more problem(s)")
        return out


# --- encoding ---------------------------------------------------------------------------------

_BOMS = [(codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"),
         (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"), (codecs.BOM_UTF16_BE, "utf-16", "UTF-16")]
_LABELS = {"utf_8": ("utf-8", "UTF-8"), "utf_16_le": ("utf-16-le", "UTF-16"),
           "utf_16_be": ("utf-16-be", "UTF-16"), "cp1252": ("cp1252", "Windows-1252")}
_SPREADSHEETS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip) and .xls (OLE)


def _all_utf8(binary) -> bool:
    """Whether the whole stream is UTF-8, checked in 256 KB chunks (C speed, little memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := binary.read(256 * 1024):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        binary.seek(0)
    return True


def detect_encoding(binary) -> tuple[str, str]:
    """(Python codec, label for people) of a seekable binary stream; rewinds it."""
    sample = binary.read(SAMPLE)
    binary.seek(0)
    for bom, codec, label in _BOMS:
        if sample.startswith(bom):
            return codec, label
    if sample.startswith(_SPREADSHEETS):
        raise ImportRejected([RowError(1, "file", "is an Excel workbook, not a CSV file: in Excel "
                                                  "choose Save As › CSV UTF-8 and upload that")])
    if _all_utf8(binary):
        return "utf-8", "UTF-8"
    best = from_bytes(sample, cp_isolation=list(_LABELS)).best()
    if best is not None and best.encoding in _LABELS and (
            not best.encoding.startswith("utf_16") or _zero_half(sample)):
        return _LABELS[best.encoding]
    if _looks_binary(sample):
        raise ImportRejected([RowError(1, "file", "is not text in UTF-8, UTF-16 or "
                                                  "Windows-1252: save it from Excel as CSV")])
    # Text with a byte Windows-1252 does not define: read it as that, and the line holding
    # the byte is named when it is reached.
    return _LABELS["cp1252"]


def _zero_half(sample: bytes) -> bool:
    """UTF-16 of Latin text has a zero in every other byte: not just a stray NUL or two."""
    return max(sample[0::2].count(0), sample[1::2].count(0)) > len(sample) // 6


def _looks_binary(sample: bytes) -> bool:
    """Control bytes (other than tab, CR, LF, form feed) in more than 1% of the sample."""
    controls = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13))
    return controls > len(sample) // 100


def _bad_byte(binary, codec: str, label: str) -> tuple[int, str]:
    """(line, message) of the first byte that is not text in ``codec``: a slow rescan, run
    only once decoding has failed, so the message can name the line."""
    binary.seek(0)
    decode = codecs.getdecoder("utf-8" if codec == "utf-8-sig" else codec)
    line = 0
    for chunk in binary:
        for piece in (chunk.splitlines(keepends=True) if b"\r" in chunk else (chunk,)):
            line += 1
            try:
                decode(piece)
            except UnicodeDecodeError as exc:
                return line, (f"byte 0x{piece[exc.start]:02X} is not a character in {label}: "
                              "save the file as CSV UTF-8")
    return line, f"the text is not valid {label}"


# --- the CSV file -----------------------------------------------------------------------------

class CsvFile:
    """A CSV file with a checked header; ``rows()`` yields (line, cells) lazily.

    ``data`` may be bytes, str, or a binary file object (an UploadedFile, an open file).
    Problems met while reading (a NUL byte, a bad byte, a broken quote) go into ``problems``
    with their line and field; such rows are not yielded.
    """

    def __init__(self, data, required: list[str], optional=(), *, source: str = ""):
        self.source = source
        self.problems = Problems()
        self._binary = self._codec = None
        if isinstance(data, str):
            self.encoding = "text"
            stream = io.StringIO(data.lstrip("\ufeff"), newline="")
        else:
            binary = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
            # A Django File re-reads from the start when iterated: use the file inside it.
            binary = getattr(binary, "file", binary) if isinstance(binary, File) else binary
            binary.seek(0)
            try:
                codec, self.encoding = detect_encoding(binary)
            except ImportRejected as exc:
                exc.source = source
                raise
            self._binary, self._codec = binary, codec
            # Decoded and split into lines in C; newline="" leaves line ends to csv (LF,
            # CRLF, or a lone CR as old Mac Excel writes).
            stream = io.TextIOWrapper(binary, encoding=codec, newline="")
        csv.field_size_limit(MAX_FIELD)
        self._stream = stream  # kept: the wrapper closes the file when collected
        self._reader = csv.reader(stream)
        self.header = self._read_header(required, optional)

    def rejected(self, problems=None) -> ImportRejected:
        return ImportRejected(problems if problems is not None else self.problems,
                              source=self.source, encoding=self.encoding)

    def _decode_problem(self, last: int) -> RowError:
        """The problem for text that cannot be decoded, naming its line where possible."""
        if self._codec.startswith("utf-16"):
            return RowError(last + 1, "file", f"the text after line {last} is not valid UTF-16")
        line, message = _bad_byte(self._binary, self._codec, self.encoding)
        return RowError(line, "file", message)

    def _read_header(self, required, optional) -> list[str]:
        try:
            first = next(self._reader, None)
        except csv.Error as exc:
            raise self.rejected([RowError(1, "header", f"cannot be read: {exc}")]) from None
        except UnicodeDecodeError:
            raise self.rejected([self._decode_problem(0)]) from None
        if first is None:
            raise self.rejected([RowError(1, "header", "the file is empty")])
        header = [h.strip().lower().lstrip("\ufeff") for h in first]
        errs = [RowError(1, "header", "contains a NUL byte")] if any("\x00" in h for h in header) \
            else []
        errs += [RowError(1, c, "required column is missing") for c in required if c not in header]
        errs += [RowError(1, c[:40], "unknown column") for c in header
                 if c not in required and c not in optional]
        errs += [RowError(1, c, "column appears twice") for c in sorted(set(header))
                 if header.count(c) > 1]
        if errs:
            raise self.rejected(errs)
        return header

    def rows(self, *, check_nul: bool = True) -> Iterator[tuple[int, list[str]]]:
        """(first line of the record, cells) of each non-blank row.

        Rows with a NUL are reported and left out, unless ``check_nul`` is False (the caller
        then checks each value against what it accepts, as the marks import does).
        """
        reader, header, problems = self._reader, self.header, self.problems
        last = reader.line_num
        while True:
            try:
                for raw in reader:
                    line, last = last + 1, reader.line_num
                    if not any(raw):
                        continue
                    if check_nul and "\x00" in "".join(raw):
                        for name, value in zip(header, raw, strict=False):
                            if "\x00" in value:
                                problems.add(line, name, "contains a NUL byte (0x00)")
                        continue
                    yield line, raw
                return
            except csv.Error as exc:
                problems.add(last + 1, "row", f"cannot be read as CSV: {exc}")
                last = reader.line_num
            except UnicodeDecodeError:
                problems.append(self._decode_problem(last))
                return

    def dicts(self) -> Iterator[tuple[int, dict]]:
        """Rows as {column: stripped value}; a short row simply lacks its last columns."""
        header = self.header
        for line, raw in self.rows():
            yield line, dict(zip(header, (v.strip() for v in raw), strict=False))
