"""Strict CSV reading, atomic replacement of a set of files, and the build lock."""

import hashlib
import os
import subprocess
import sys
import textwrap
import time
import unicodedata

import numpy as np
import pandas as pd
import pytest

from analysis.errors import BusyError, InputError
from analysis.data.storage import build_lock, csv_bytes, read_csv_table, replace_files


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_byte_order_mark_is_removed_from_the_first_column_name(tmp_path):
    frame = read_csv_table(write(tmp_path / "t.csv", b"\xef\xbb\xbfobs_id,value\nO0001,3\n"))
    assert list(frame.columns) == ["obs_id", "value"]


def test_windows_line_ends_are_accepted(tmp_path):
    frame = read_csv_table(write(tmp_path / "t.csv", b"a,b\r\n1,x\r\n2,y\r\n"))
    assert frame["b"].tolist() == ["x", "y"] and frame.index.tolist() == [2, 3]


def test_cells_are_nfc_with_eth_fixed_and_stay_text(tmp_path):
    nfd = unicodedata.normalize("NFD", "Đắk Hà").encode()
    frame = read_csv_table(
        write(tmp_path / "t.csv", b"name,code,value\n" + nfd + b",08,10.20\n\xc3\x90\xc4\x83k H\xc3\xa0,615,3\n")
    )
    assert frame["name"].tolist() == ["Đắk Hà", "Đăk Hà"]
    assert frame["code"].tolist() == ["08", "615"] and frame["value"].tolist() == ["10.20", "3"]


def test_categorical_columns_are_nfc_with_eth_fixed_too(tmp_path):
    nfd = unicodedata.normalize("NFD", "Đắk Hà").encode()
    data = b"name,n\xc3\x90\n" + nfd + b",1\n\xc3\x90\xc4\x83k H\xc3\xa0,2\n\xc4\x90\xe1\xba\xafk H\xc3\xa0,3\n"
    frame = read_csv_table(write(tmp_path / "t.csv", data), categorical=["name"])
    assert list(frame.columns) == ["name", "nĐ"]
    assert frame["name"].tolist() == ["Đắk Hà", "Đăk Hà", "Đắk Hà"]
    assert sorted(frame["name"].cat.categories) == ["Đăk Hà", "Đắk Hà"]  # the NFD and NFC spellings are one


def test_categorical_columns_keep_their_text_even_when_it_looks_numeric(tmp_path):
    frame = read_csv_table(write(tmp_path / "t.csv", b"code,value\n08,10.20\n615,3\n"), categorical=["code", "value"])
    assert frame["code"].tolist() == ["08", "615"] and frame["value"].tolist() == ["10.20", "3"]
    assert str(frame["code"].dtype) == "category"


def test_line_numbers_count_the_header_blank_lines_and_quoted_newlines(tmp_path):
    frame = read_csv_table(write(tmp_path / "t.csv", b'id,note\nA,"two\nlines"\n\nB,x\n'))
    assert frame.index.tolist() == [2, 5] and frame.loc[2, "note"] == "two\nlines"


def test_the_hash_of_the_file_bytes_comes_with_the_table(tmp_path):
    data = b"\xef\xbb\xbfa\r\n1\r\n"
    frame = read_csv_table(write(tmp_path / "t.csv", data))
    assert frame.attrs["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "t.csv: empty file: no header row"),
        (b"  \n\n", "t.csv: empty file: no header row"),
        (b"name\nKon R\xe1y\n", "t.csv:2: not UTF-8: byte 0xe1 at byte offset 10; save the file as UTF-8"),
        (b'a,b\n1,"unclosed\n', "t.csv:2: not a valid CSV table: a quote opened on this line is never closed"),
        (b'a,b\n1,"two\nlines"\n3,"unclosed\n', "t.csv:4: not a valid CSV table: a quote opened on this line"),
        (
            b"a,b\n1,2\n3,4,5,6\n",
            "t.csv: not a valid CSV table: Error tokenizing data. C error: Expected 2 fields in line 3, saw 4",
        ),
        (bytes(4096), "t.csv: binary file (NUL byte at byte offset 0); expected UTF-8 text"),
        (b"a,b\n1,x\x002\n", "t.csv: binary file (NUL byte at byte offset 7); expected UTF-8 text"),
        ("a,b\n1,2\n".encode("utf-16"), "t.csv:1: not UTF-8: byte 0xff at byte offset 0"),
    ],
)
def test_unreadable_files_give_one_line_naming_the_file(tmp_path, data, message):
    with pytest.raises(InputError) as caught:
        read_csv_table(write(tmp_path / "t.csv", data))
    assert str(caught.value).startswith(str(tmp_path / message))
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="missing.csv: file not found"):
        read_csv_table(tmp_path / "missing.csv")


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def previous_build(tmp_path):
    folder = tmp_path / "processed"
    replace_files(
        {"observations.csv": b"old obs\n", "flags.csv": b"old flags\n", "build.json": b'{"old": 1}\n'}, folder
    )
    return folder


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_after_the_first_replacement_restores_every_previous_file(previous_build, monkeypatch, failure):
    before = snapshot(previous_build)
    real_replace, calls = os.replace, []

    def replace_then_fail(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise failure
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    new = {
        "observations.csv": b"new obs\n",
        "flags.csv": b"new flags\n",
        "metrics.csv": b"new\n",
        "build.json": b"{}\n",
    }
    with pytest.raises(type(failure)):
        replace_files(new, previous_build)
    monkeypatch.undo()
    assert snapshot(previous_build) == before  # byte-identical, nothing new, no temporary files left


def test_a_failure_while_writing_temporaries_leaves_the_folder_untouched(previous_build, monkeypatch):
    before = snapshot(previous_build)
    import analysis.data.storage as storage

    real = storage._write_synced
    monkeypatch.setattr(
        storage,
        "_write_synced",
        lambda path, content: (
            (_ for _ in ()).throw(OSError("no space")) if "flags" in path.name else real(path, content)
        ),
    )
    with pytest.raises(OSError, match="no space"):
        replace_files({"observations.csv": b"new\n", "flags.csv": b"new\n", "build.json": b"{}\n"}, previous_build)
    assert snapshot(previous_build) == before


def test_a_successful_replacement_writes_every_file_and_no_temporary(previous_build):
    replace_files({"observations.csv": b"new obs\n", "metrics.csv": b"m\n", "build.json": b"{}\n"}, previous_build)
    assert snapshot(previous_build) == {
        "build.json": b"{}\n",
        "flags.csv": b"old flags\n",
        "metrics.csv": b"m\n",
        "observations.csv": b"new obs\n",
    }


def test_a_second_build_waits_for_the_lock_then_gives_up_naming_the_holder(tmp_path):
    with build_lock(tmp_path):
        start = time.monotonic()
        with pytest.raises(BusyError) as caught:
            with build_lock(tmp_path, timeout=0.3, poll=0.05):
                pass
        assert 0.25 < time.monotonic() - start < 3
    assert f"another build (pid {os.getpid()}) holds the lock; waited 0.3 s" in str(caught.value)
    assert caught.value.exit_code == 4


def test_the_lock_is_free_again_when_its_holder_exits_even_without_cleaning_up(tmp_path):
    holder = textwrap.dedent(f"""
        import os, sys, time
        from analysis.data.storage import build_lock
        lock = build_lock({str(tmp_path)!r}); lock.__enter__()
        print("locked", flush=True); time.sleep(0.5); os._exit(0)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    with pytest.raises(BusyError):
        with build_lock(tmp_path, timeout=0.1, poll=0.05):
            pass
    proc.wait(timeout=10)
    with build_lock(tmp_path, timeout=1):  # the kernel released the dead holder's lock
        assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())


def test_csv_bytes_writes_exactly_what_pandas_writes():
    rows = 6000  # enough for the id column to be written as it is
    tricky = ["a,b", 'say "hi" now', "two\nlines", "cr\rhere", "", "Đắk Hà", None]
    frame = pd.DataFrame(
        {
            "obs_id": [f"O{i:06d}" for i in range(rows)],
            "text": pd.Series([tricky[i % len(tricky)] for i in range(rows)], dtype="str"),
            "label": pd.Categorical([tricky[i % 3] for i in range(rows)]),
            "value": np.where(np.arange(rows) % 5 == 0, np.nan, np.arange(rows) / 7),
            "decimals": np.arange(rows) % 3,
            "flag": np.arange(rows) % 2 == 0,
            "as_of": pd.to_datetime(np.where(np.arange(rows) % 4 == 0, None, "2021-08-23")),
        }
    )
    frame.loc[[1, 2], "value"] = [-0.0, float("inf")]  # -0.0 is written apart from 0.0
    assert csv_bytes(frame) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    frame.loc[7, "obs_id"] = "O,7"  # an id that needs quoting
    frame["at"] = pd.Timestamp("2021-08-23 10:30")  # a time of day: pandas' own format
    assert csv_bytes(frame) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def test_a_line_of_empty_fields_is_a_record_but_a_blank_line_is_not(tmp_path):
    frame = read_csv_table(write(tmp_path / "t.csv", b"a,b\n1,x\n,\n2,y\n"))
    assert frame.index.tolist() == [2, 3, 4] and frame.loc[3].tolist() == ["", ""]
    frame = read_csv_table(write(tmp_path / "t.csv", b"a,b\n1,x\n\n2,y\n"))
    assert frame.index.tolist() == [2, 4]
