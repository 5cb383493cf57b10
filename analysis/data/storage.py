"""Files on disk: strict reading of raw CSV, atomic writes, the build lock.

Reading (:func:`read_csv_table`): a raw table must be UTF-8 (a byte-order
mark is accepted and removed; a byte that is not UTF-8 is an error naming the
file, line and byte offset); Windows line ends are accepted; the whole text
is put in Unicode NFC with the Eth letter fixed (:func:`analysis.text.names.fix_text`)
before parsing, so every cell of every table compares correctly. Every cell
is read as text; the frame's index is the line number of each record in the
file (header = line 1), so messages can point at the line.

Writing (:func:`replace_files`): every file of a build is first written in
full to a temporary file in the destination folder and flushed to disk; then
each destination is replaced with ``os.replace`` (atomic on POSIX), in the
order given. The guarantee:

* each file is, at every instant, either its previous complete content or
  its new complete content, never a partial file;
* if the build fails or is interrupted (exception or Ctrl-C) at any point,
  the files replaced so far are restored from hard-link snapshots taken just
  before, so the previous set of files is left intact and no temporary
  files remain;
* only a hard kill (SIGKILL, power loss) in the short replace phase can
  leave a mix of old and new files; callers write ``build.json`` last with
  the hashes of the others, so such a mix is detected on reading (see
  :func:`analysis.data.dataset.read_processed`), and the next build cleans up.

Outputs are opened one guarded way (:func:`open_output`, :func:`output_folder`):
a symbolic link where an output file, a temporary file, the lock or a
folder the code creates should be is refused, never followed, so nothing
outside the output folder is ever written. An output folder is never the
raw folder or inside it, compared by real paths (:func:`check_not_raw`).

Locking (:func:`build_lock`): ``fcntl.flock`` on ``.lock`` in the output
folder. The kernel releases the lock when its holder dies, so a crashed
build never leaves a stale lock; the file keeps the holder's pid for the
message a waiting build shows.

Examples:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with build_lock(folder):
    ...     replace_files({"a.csv": b"x\\n1\\n", "build.json": b"{}"}, folder)
    >>> sorted(p.name for p in folder.iterdir())
    ['.lock', 'a.csv', 'build.json']
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import BusyError, InputError, UsageError
from analysis.text.names import combined_codes, fix_text, on_distinct

LOCK_NAME = ".lock"


def read_csv_table(path: Path | str, categorical: Collection[str] = ()) -> pd.DataFrame:
    """Read a raw CSV table as text, indexed by line number.

    Args:
        path: The CSV file.
        categorical: Columns to read as pandas categoricals of text: for
            columns that repeat a few values over many rows, this costs no
            more to read and makes every later comparison cheap.

    Returns:
        One column per header field, every cell a string ('' when empty),
        blank lines dropped; the index is the 1-based line on which each
        record starts (the header is line 1). ``frame.attrs["sha256"]`` is
        the hash of the file's bytes.

    Raises:
        InputError: The file is missing, empty, not UTF-8 or not parseable
            as CSV; the message names the file (and the line, where known).

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = path.write_bytes("\\ufeffname,value\\r\\n\\r\\nÐăk Hà,3\\r\\n".encode())
        >>> frame = read_csv_table(path)
        >>> list(frame.columns), frame.loc[3, "name"]
        (['name', 'value'], 'Đăk Hà')
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except OSError as err:
        raise InputError(f"cannot read the file ({err.strerror})", file=path) from None
    if not data or data.isspace():
        raise InputError("empty file: no header row", file=path)
    digest = sha256(data)
    nul = data.find(b"\x00")
    if nul >= 0:  # what a crash can leave (a zero-filled file), or a binary file that happens to be UTF-8
        _decoded_and_fixed(data, path)  # a file that is not UTF-8 at all (UTF-16, an image) is reported as such
        raise InputError(f"binary file (NUL byte at byte offset {nul}); expected UTF-8 text", file=path)
    plain = not data.startswith(codecs.BOM_UTF8) and b"\r" not in data
    frame = _parse_plain(data, categorical) if plain else None
    if frame is None:  # a byte-order mark, Windows line ends, or a problem to report: the careful way
        data = _decoded_and_fixed(data, path)
        frame = _parse_checked(data, categorical, path)
    frame.columns = [fix_text(str(c)).strip() for c in frame.columns]
    frame.index = _record_lines(frame, data.count(b"\n"))
    maybe_blank = len(frame.columns) and (frame.iloc[:, 0].to_numpy(dtype=object) == "").any()
    if maybe_blank and b"\n\n" in data:  # blank lines became empty records (the search is slow: only if needed)
        frame = frame.loc[~(frame.astype(object) == "").all(axis=1)]
    frame.attrs["sha256"] = digest
    return frame


def _decoded_and_fixed(data: bytes, path: Path) -> bytes:
    """The file as UTF-8 without a byte-order mark, ``\\n`` line ends, NFC with Eth fixed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8: byte 0x{data[err.start]:02x} at byte offset {err.start}; save the file as UTF-8",
            file=path,
            row=line,
        ) from None
    fixed = fix_text(text.replace("\r\n", "\n") if b"\r" in data else text)
    return fixed.encode("utf-8") if fixed is not text or data.startswith(codecs.BOM_UTF8) else data


def _parse_plain(data: bytes, categorical: Collection[str]) -> pd.DataFrame | None:
    """Parse the bytes as they are (the C parser checks the UTF-8), then fix the text of each column.

    Putting every cell in NFC with Eth fixed gives the same cells as fixing
    the whole text first (a newline or comma never combines with a letter),
    at the cost of one look at the distinct values of each column instead
    of the whole text. Returns None if the bytes do not parse: the caller
    then takes the careful way, which names the problem.
    """
    try:
        frame = _parse_checked(data, categorical, None)
    except (InputError, UnicodeDecodeError):
        return None
    for column in frame.columns:
        values = frame[column]
        is_categorical = isinstance(values.dtype, pd.CategoricalDtype)
        distinct = values.cat.categories if is_categorical else values
        joined = "\n".join(distinct.to_numpy(dtype=object))  # newlines keep NFC cell by cell
        if joined.isascii() or fix_text(joined) is joined:
            continue
        fixed = on_distinct(values, fix_text, categorical=is_categorical)
        if is_categorical:  # categories as text, as the parser gives them
            frame[column] = fixed.cat.rename_categories(fixed.cat.categories.astype(distinct.dtype))
        else:
            frame[column] = fixed.astype(values.dtype)
    return frame


def _parse_checked(data: bytes, categorical: Collection[str], path: Path | None) -> pd.DataFrame:
    """Parse CSV bytes (every cell as text); a parser error is an InputError naming ``path``."""
    try:  # the C parser reads bytes about twice as fast as text
        frame = _parse_csv(data, categorical)
        numeric = [c for c in categorical if c in frame and not pd.api.types.is_string_dtype(frame[c].cat.categories)]
        if numeric:  # pandas turned all-numeric categories into numbers ('08' -> 8): read them again as text
            frame[numeric] = _parse_csv(data, (), usecols=numeric).astype("category")
    except (pd.errors.ParserError, csv.Error) as err:
        message = " ".join(str(err).split())  # pandas' message may end with a newline: keep one line
        unclosed = re.search(r"EOF inside string starting at row (\d+)", message)
        if unclosed:
            raise InputError(
                "not a valid CSV table: a quote opened on this line is never closed",
                file=path,
                row=_line_of_record(data, int(unclosed.group(1))),
            ) from None
        raise InputError(f"not a valid CSV table: {message}", file=path) from None
    return frame


def _line_of_record(data: bytes, record: int) -> int:
    """The 1-based line on which pandas' 0-based ``record`` (the header is record 0) starts.

    Records before it may hold quoted newlines, so they are parsed and their newlines counted.
    """
    if record < 2:
        return record + 1
    before = _parse_csv(data, (), nrows=record - 1)
    inside = sum(int(before[c].str.count("\n").sum()) for c in before.columns)
    return record + 1 + inside + sum(str(c).count("\n") for c in before.columns)


def _parse_csv(data: bytes, categorical: Collection[str], **options) -> pd.DataFrame:
    dtypes = defaultdict(lambda: str, {column: "category" for column in categorical})
    return pd.read_csv(
        io.BytesIO(data),
        dtype=dtypes,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        quoting=csv.QUOTE_MINIMAL,
        **options,
    )


def _record_lines(frame: pd.DataFrame, newlines: int) -> pd.Index:
    """Line number of each record, counting newlines inside quoted cells (``newlines`` in the file)."""
    lines = np.arange(len(frame)) + 2
    if newlines > len(frame) + 1:  # some quoted cell spans lines
        inside = sum(frame[c].astype(object).str.count("\n").to_numpy() for c in frame.columns)
        lines = lines + np.concatenate([[0], np.cumsum(inside)[:-1]])
    return pd.Index(lines, name="line")


def sha256(content: bytes) -> str:
    """SHA-256 of some bytes, in hex.

    Args:
        content: The bytes.

    Returns:
        64 hex digits.

    Examples:
        >>> sha256(b"")[:12]
        'e3b0c44298fc'
    """
    return hashlib.sha256(content).hexdigest()


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file's bytes, in hex (see :func:`sha256`).

    Args:
        path: The file.

    Returns:
        64 hex digits.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "f"
        >>> _ = path.write_bytes(b"")
        >>> file_sha256(path) == sha256(b"")
        True
    """
    return sha256(Path(path).read_bytes())


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as UTF-8 CSV bytes (no index, ``\\n`` line ends), exactly as ``DataFrame.to_csv`` writes it.

    pandas' writer costs about 200 ns a cell (3 s for the 10 million cells
    of the national panel). Processed tables repeat a few values in most
    columns, so for text, number, boolean and date-only columns this
    formats and quotes each distinct value once, joins neighbouring columns
    whose combinations stay few once per combination, and then joins each
    row from a handful of pieces. Other frames (other types, times of day,
    a single column, column names that are not text) go to pandas.

    Args:
        frame: The table.

    Returns:
        The CSV content.

    Examples:
        >>> csv_bytes(pd.DataFrame({"a": [1, 2]}))
        b'a\\n1\\n2\\n'
        >>> csv_bytes(pd.DataFrame({"note": ["x, y", 'a "b" c', None], "n": [1.5, float("nan"), 2.0]}))
        b'note,n\\n"x, y",1.5\\n"a ""b"" c",\\n,2.0\\n'
    """
    plain = frame.shape[1] > 1 and all(isinstance(c, str) for c in frame.columns)
    columns = [_csv_texts(frame.iloc[:, i]) for i in range(frame.shape[1])] if plain else [None]
    if any(column is None for column in columns):
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    header = ",".join(_csv_field(str(c)) for c in frame.columns)
    if frame.empty:
        return (header + "\n").encode("utf-8")
    pieces = _csv_pieces(columns, len(frame))
    rows = "\n".join(map(",".join, zip(*pieces)))
    return (header + "\n" + rows + "\n").encode("utf-8")


def _csv_field(text: str) -> str:
    """A text as a CSV field: quoted when it holds a comma, a quote or a newline (as the csv module does)."""
    return '"' + text.replace('"', '""') + '"' if ("," in text or '"' in text or "\n" in text) else text


def _csv_texts(values: pd.Series) -> tuple[np.ndarray | None, np.ndarray] | None:
    """``(codes, texts)``: each row's code (-1 = missing) and each code's CSV field; None if pandas must do it.

    A text column of distinct values (ids) that needs no quoting comes back as ``(None, its texts)``.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if not pd.api.types.is_string_dtype(dtype.categories):
            return None
        codes, distinct = values.cat.codes.to_numpy(), dtype.categories.to_numpy(dtype=object)
    elif dtype.kind == "M":
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
        days = distinct.to_numpy().astype("datetime64[D]")
        if getattr(dtype, "tz", None) is not None or (days != distinct.to_numpy()).any():  # times of day
            return None
        return codes, np.datetime_as_string(days).astype(object)
    elif dtype.kind == "f" and isinstance(dtype, np.dtype):  # by bit pattern, so that -0.0 stays apart from 0.0
        numbers = values.to_numpy()
        codes, distinct = pd.factorize(numbers.view(f"i{numbers.itemsize}"))
        distinct = distinct.view(numbers.dtype)
        texts = distinct.astype(str).astype(object)  # the shortest repr, as pandas writes floats
        texts[np.isnan(distinct)] = ""
        return codes, texts
    elif dtype.kind in "iub" and isinstance(dtype, np.dtype):
        codes, distinct = pd.factorize(values.to_numpy())
        return codes, distinct.astype(str).astype(object)
    elif pd.api.types.is_string_dtype(dtype):
        head = values.iloc[:1000]
        if len(values) > 4 * len(head) and head.nunique() > 0.9 * len(head):  # ids: all distinct, as they are?
            texts = values.to_numpy(dtype=object, na_value="")
            if pd.api.types.infer_dtype(texts) == "string":
                joined = "\n".join(texts)
                if "," not in joined and '"' not in joined and joined.count("\n") == len(texts) - 1:
                    return None, texts
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
        distinct = np.asarray(distinct, dtype=object)
        if pd.api.types.infer_dtype(distinct, skipna=True) not in ("string", "empty"):
            return None
    else:
        return None
    return codes, np.array([_csv_field(text) for text in distinct], dtype=object)


def _csv_pieces(columns: list[tuple[np.ndarray, np.ndarray]], rows: int) -> list[np.ndarray]:
    """Each row's text, in a few pieces: neighbouring columns joined once per combination while those stay few."""
    few = max(rows // 16, 1)
    pieces, codes, texts = [], None, None
    for column_codes, column_texts in columns:
        if column_codes is None:  # the texts of every row already
            if codes is not None:
                pieces.append(texts[codes])
            pieces.append(column_texts)
            codes = texts = None
            continue
        column_texts = np.append(column_texts, "")  # code -1 (missing) -> the last: ''
        if codes is not None:
            joint = combined_codes(codes, column_codes)
            count = int(joint.max()) + 1
            if count <= few:
                first = np.empty(count, dtype=np.int64)
                first[joint[::-1]] = np.arange(rows)[::-1]  # each combination's first row
                texts = np.array(
                    [a + "," + b for a, b in zip(texts[codes[first]], column_texts[column_codes[first]])], dtype=object
                )
                codes = joint
                continue
            pieces.append(texts[codes])
        codes, texts = column_codes, column_texts
    if codes is not None:
        pieces.append(texts[codes])
    return pieces


def json_bytes(obj) -> bytes:
    """An object as indented UTF-8 JSON bytes (Vietnamese kept readable).

    Args:
        obj: Anything ``json.dumps`` takes.

    Returns:
        The JSON content, ending with a newline.

    Examples:
        >>> json_bytes({"tỉnh": 62}).decode()
        '{\\n  "tỉnh": 62\\n}\\n'
    """
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def replace_files(files: dict[str, bytes], out_dir: Path | str) -> None:
    """Write several files so that a failure leaves the previous ones intact.

    All contents are written to temporary files first, then the destinations
    are replaced in the order of ``files`` (put the file that vouches for
    the others, such as ``build.json``, last). On any exception, including
    ``KeyboardInterrupt``, the destinations already replaced are restored
    and temporary files removed. Call it while holding :func:`build_lock`.

    Args:
        files: File name (inside ``out_dir``) -> complete content.
        out_dir: The destination folder (created if missing).

    Raises:
        UsageError: ``out_dir`` is the project's raw folder (:func:`analysis.paths.raw_dir`)
            or inside it: raw tables are never replaced, whichever command asks.
        OSError: Writing failed; the previous files are intact.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> replace_files({"t.csv": b"a\\n1\\n", "build.json": b"{}"}, folder)
        >>> (folder / "t.csv").read_bytes(), sorted(p.name for p in folder.iterdir())
        (b'a\\n1\\n', ['build.json', 't.csv'])
    """
    out_dir = Path(out_dir)
    check_not_raw(out_dir, paths.raw_dir())
    out_dir.mkdir(parents=True, exist_ok=True)
    temps = {name: out_dir / f".{name}.tmp" for name in files}
    backups = {name: out_dir / f".{name}.bak" for name in files}
    replaced: list[str] = []
    try:
        for name, content in files.items():
            try:
                _write_synced(temps[name], content)
            except OSError as err:  # a system error names the file being written, not its temporary name
                if err.errno is not None:
                    err.filename = str(out_dir / name)
                raise
        for name in files:
            target = out_dir / name
            _remove(backups[name])
            if target.exists():
                _snapshot(target, backups[name])
            os.replace(temps[name], target)
            replaced.append(name)
        _sync_dir(out_dir)
    except BaseException:
        for name in reversed(replaced):
            if backups[name].exists():
                os.replace(backups[name], out_dir / name)
            else:
                _remove(out_dir / name)
        raise
    finally:
        for path in (*temps.values(), *backups.values()):
            _remove(path)


def _write_synced(path: Path, content: bytes) -> None:
    _remove(path)  # a stale temporary file, or a link planted under its name: removed, never followed
    with open_output(path, exclusive=True) as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def open_output(path: Path | str, *, exclusive: bool = False, append: bool = False):
    """Open a file for writing (binary) without following a symbolic link.

    The one way this package opens a file it writes: a link at ``path`` is
    refused (``OSError`` ELOOP), so a planted link cannot make a write land
    outside the output folder.

    Args:
        path: The file.
        exclusive: Fail if the file exists (for temporary files just removed).
        append: Open for reading and appending instead of truncating (the lock file).

    Returns:
        A binary file object.

    Raises:
        OSError: ``path`` is a link (ELOOP), exists with ``exclusive``, or cannot be written.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> (folder / "link").symlink_to(folder / "elsewhere")
        >>> open_output(folder / "link")
        Traceback (most recent call last):
        ...
        OSError: [Errno 40] Too many levels of symbolic links: ...
    """
    flags = os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= (os.O_RDWR | os.O_APPEND) if append else (os.O_WRONLY | (os.O_EXCL if exclusive else os.O_TRUNC))
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as err:
        if err.errno == errno.ELOOP and err.filename is None:
            err.filename = str(path)
        raise
    return os.fdopen(fd, "a+b" if append else "wb")


def output_folder(path: Path | str, *, may_be_link: bool = False) -> Path:
    """Create a folder (and its parents) for outputs, refusing one that is a symbolic link.

    Args:
        path: The folder.
        may_be_link: Accept a link (a folder the user named, such as ``--out``,
            whose real path the caller has checked); folders the code makes
            inside it are never links.

    Returns:
        The folder as a Path.

    Raises:
        InputError: ``path`` is a symbolic link, or cannot be created (a file in the way, no permission).

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> output_folder(folder / "a" / "b").is_dir()
        True
        >>> (folder / "c").symlink_to(folder / "a")
        >>> output_folder(folder / "c")
        Traceback (most recent call last):
        ...
        analysis.errors.InputError: /...c: is a symbolic link; outputs are never written through links
    """
    path = Path(path)
    if path.is_symlink() and not may_be_link:
        raise InputError("is a symbolic link; outputs are never written through links", file=path)
    if path.exists() and not path.is_dir():
        raise InputError("is a file, not a folder; give a folder for the outputs", file=path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output folder: {err.strerror}", file=path) from None
    return path


def check_not_raw(out: Path | str, raw_dir: Path | str) -> None:
    """Refuse an output path that is the raw folder or inside it (raw tables are never rewritten).

    Paths are compared as real paths, so ``R/.``, ``../x/R``, and a symbolic
    link to ``R`` (or to a folder inside it) are all recognised.

    Args:
        out: An output folder or file (it need not exist).
        raw_dir: The raw folder.

    Raises:
        UsageError: ``out`` is ``raw_dir`` or inside it.

    Examples:
        >>> import tempfile
        >>> raw = Path(tempfile.mkdtemp())
        >>> check_not_raw(raw.parent / "processed", raw)
        >>> check_not_raw(raw / ".", raw)
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: /...: is the raw folder /... or inside it; raw tables are never rewritten, ...
    """
    real_out, real_raw = Path(os.path.realpath(out)), Path(os.path.realpath(raw_dir))
    if real_out == real_raw or real_raw in real_out.parents:
        raise UsageError(
            f"is the raw folder {real_raw} or inside it; raw tables are never rewritten, choose another output",
            file=out,
        )


def _snapshot(target: Path, backup: Path) -> None:
    try:
        os.link(target, backup, follow_symlinks=False)
    except OSError:  # file systems without hard links
        shutil.copy2(target, backup, follow_symlinks=False)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def build_lock(out_dir: Path | str, timeout: float = 30.0, poll: float = 0.1):
    """Hold the exclusive build lock of an output folder.

    Args:
        out_dir: The folder whose ``.lock`` file is locked (created if missing).
        timeout: Seconds to wait for another holder before giving up.
        poll: Seconds between attempts.

    Yields:
        The path of the lock file.

    Raises:
        BusyError: Another process still held the lock after ``timeout``.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with build_lock(folder) as lock:
        ...     lock.name
        '.lock'
    """
    out_dir = output_folder(out_dir, may_be_link=True)
    path = out_dir / LOCK_NAME
    try:
        handle = open_output(path, append=True)
    except OSError as err:
        reason = (
            "is a symbolic link; the lock is never taken through a link"
            if err.errno == errno.ELOOP
            else (f"cannot open the lock file: {err.strerror}")
        )
        raise InputError(reason, file=path) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().decode("ascii", "replace").strip() or "unknown"
                    raise BusyError(
                        f"another build (pid {holder}) holds the lock; waited {timeout:g} s, try again later",
                        file=path,
                    ) from None
                time.sleep(poll)
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        yield path
    finally:
        handle.close()  # closing releases the lock
