"""Data files read by content, not by name: JSON Lines named .json, a JSON list named .jsonl, an object
holding the rows under one key, and every format compressed (gzip, bz2, xz; zstd with `zstandard`),
with the one-line errors that name file, row and field."""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
import sys

import pytest

from memgap.cli import main
from memgap.data.io import read_jsonl_rows, read_records, records_to_rows, write_jsonl, write_rows
from memgap.errors import MemgapError

ROWS = [{"id": f"r{index}", "family": f"f{index % 3}", "messages": [
    {"role": "user", "content": f"Which crate is number {index}?"},
    {"role": "assistant", "content": f"Crate {index} is the {'red blue green'.split()[index % 3]} one.\u2028Done."}]}
    for index in range(7)]
FORMATS = (".jsonl", ".json", ".csv", ".parquet")
COMPRESSIONS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def _jsonl(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return read_records(write_jsonl(tmp_path_factory.mktemp("ref") / "rows.jsonl", ROWS))


def _one_line_error(path, *expected):
    with pytest.raises(MemgapError) as caught:
        read_records(path)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in expected:
        assert fragment in message, message
    return message


def test_json_lines_named_json_and_a_json_list_named_jsonl_read_the_same(tmp_path, reference):
    lines_as_json = tmp_path / "lines.json"
    lines_as_json.write_text(_jsonl(ROWS), encoding="utf-8")
    list_as_jsonl = tmp_path / "list.jsonl"
    list_as_jsonl.write_text(json.dumps(ROWS, indent=2, ensure_ascii=False), encoding="utf-8")
    ndjson = tmp_path / "rows.ndjson"
    ndjson.write_text(_jsonl(ROWS), encoding="utf-8")
    for path in (lines_as_json, list_as_jsonl, ndjson):
        assert read_records(path) == reference, path.name
    # Row numbers stay physical lines for JSON Lines whatever the name.
    assert [record.source for record in read_records(lines_as_json)][:2] == [f"{lines_as_json}:1", f"{lines_as_json}:2"]


def test_the_families_verb_reads_json_lines_named_json(tmp_path, capsys):
    path = tmp_path / "json_lines_named_json.json"
    path.write_text(_jsonl(ROWS), encoding="utf-8")
    assert main(["families", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 7 and report["families"] == 3


def test_an_object_holding_the_rows_under_one_key(tmp_path, reference):
    for key in ("data", "rows", "train"):
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps({"version": "1.0", "tags": ["a"], key: ROWS}), encoding="utf-8")
        assert read_records(path) == reference, key
    both = tmp_path / "both.json"
    both.write_text(json.dumps({"train": ROWS[:3], "test": ROWS[3:]}), encoding="utf-8")
    _one_line_error(both, "both.json", "several lists of rows ('train', 'test')")


def test_one_pretty_printed_object_is_one_row(tmp_path, reference):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(ROWS[0], indent=2), encoding="utf-8")
    assert read_records(path) == reference[:1]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "question": "q"}, indent=2), encoding="utf-8")
    _one_line_error(bad, "bad.json:1: field 'messages': missing field")


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("compression", sorted(COMPRESSIONS))
def test_every_format_reads_the_same_compressed(tmp_path, reference, suffix, compression):
    plain = write_rows(tmp_path / f"rows{suffix}", ROWS)
    packed = tmp_path / f"rows{suffix}{compression}"
    packed.write_bytes(COMPRESSIONS[compression](plain.read_bytes()))
    assert read_records(packed) == read_records(plain) == reference
    # memgap's writer compresses by the name, and what it writes reads back.
    written = write_rows(tmp_path / "out" / f"back{suffix}{compression}", records_to_rows(read_records(packed)))
    assert written.read_bytes()[:2] != plain.read_bytes()[:2]
    assert read_records(written) == reference


def test_compression_is_read_from_the_bytes_not_the_name(tmp_path, reference):
    gzip_named_plain = tmp_path / "rows.jsonl"
    gzip_named_plain.write_bytes(gzip.compress(_jsonl(ROWS).encode("utf-8")))
    plain_named_gz = tmp_path / "rows.jsonl.gz"  # a download tool that decompressed and kept the name
    plain_named_gz.write_text(_jsonl(ROWS), encoding="utf-8")
    assert read_records(gzip_named_plain) == read_records(plain_named_gz) == reference
    assert read_jsonl_rows(gzip_named_plain) == ROWS


def test_parquet_is_read_from_its_magic_whatever_the_name(tmp_path, reference):
    parquet = write_rows(tmp_path / "rows.parquet", ROWS)
    misnamed = tmp_path / "rows.json"
    misnamed.write_bytes(parquet.read_bytes())
    assert read_records(misnamed) == reference


def test_gzip_output_is_byte_identical_for_equal_rows(tmp_path):
    first = write_rows(tmp_path / "a.jsonl.gz", ROWS).read_bytes()
    second = write_rows(tmp_path / "b.jsonl.gz", ROWS).read_bytes()
    assert first == second


def test_zstd_reads_with_zstandard_and_is_one_line_without(tmp_path, reference, monkeypatch):
    path = tmp_path / "rows.jsonl.zst"
    try:
        import zstandard
    except ImportError:
        path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 16)
    else:
        path.write_bytes(zstandard.ZstdCompressor().compress(_jsonl(ROWS).encode("utf-8")))
        assert read_records(path) == reference
    monkeypatch.setitem(sys.modules, "zstandard", None)  # the package absent
    _one_line_error(path, "rows.jsonl.zst", "zstandard package")


@pytest.mark.parametrize("compression, module", [(".gz", gzip), (".bz2", bz2), (".xz", lzma)])
def test_a_truncated_compressed_file_is_one_line(tmp_path, compression, module):
    path = tmp_path / f"rows.jsonl{compression}"
    path.write_bytes(module.compress(_jsonl(ROWS).encode("utf-8"))[:40])
    _one_line_error(path, f"rows.jsonl{compression}", "not a readable")


def test_errors_inside_compressed_and_sniffed_files_name_the_row(tmp_path):
    broken = [*ROWS[:2], {"id": "x", "messages": [{"role": "user", "content": "q"}]}, *ROWS[2:]]
    path = tmp_path / "rows.json.gz"
    path.write_bytes(gzip.compress(_jsonl(broken).encode("utf-8")))
    _one_line_error(path, "rows.json.gz:3: field 'messages'", "assistant")
    as_list = tmp_path / "list.jsonl.bz2"
    as_list.write_bytes(bz2.compress(json.dumps(broken).encode("utf-8")))
    _one_line_error(as_list, "list.jsonl.bz2:3: field 'messages'")  # a JSON list: the row's index
    malformed = tmp_path / "m.json"
    malformed.write_text(_jsonl(ROWS[:2]) + '{"id": "x", "messages": [\n' + _jsonl(ROWS[2:]), encoding="utf-8")
    _one_line_error(malformed, "m.json:3: malformed JSON")
    not_json = tmp_path / "n.json"
    not_json.write_text("id,messages\n", encoding="utf-8")
    _one_line_error(not_json, "n.json:1: not JSON")


def test_names_without_a_data_format_are_refused(tmp_path):
    for name in ("rows.gz", "rows.txt", "rows"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(b"{}\n"))
        _one_line_error(path, name, "unsupported file type")
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(gzip.compress(b""))
    _one_line_error(empty, "empty.jsonl.gz", "empty once decompressed")


def test_the_shared_case_json_lines_named_json_reads_its_36_rows(capsys):
    """../shared/cases/adapters-and-files/json_lines_named_json.json, byte for byte: `datasets` reads it, so do we."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / "adapters_and_files" / "json_lines_named_json.json"
    assert main(["families", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 36
