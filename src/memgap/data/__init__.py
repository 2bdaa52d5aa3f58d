"""Reading and validating SFT records (JSON Lines, JSON, CSV, Parquet, plain or compressed) in TRL's
conventions, with the ecosystem's ShareGPT and Alpaca rows mapped onto them."""
from memgap.data.records import Record
from memgap.data.io import read_jsonl_rows, read_records, records_to_rows, write_jsonl, write_rows

__all__ = ["Record", "read_jsonl_rows", "read_records", "write_jsonl", "write_rows", "records_to_rows"]
