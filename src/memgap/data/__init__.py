"""Reading and validating SFT records (JSONL, JSON, CSV, Parquet) in TRL's conventions."""
from memgap.data.records import Record
from memgap.data.io import read_jsonl_rows, read_records, records_to_rows, write_jsonl

__all__ = ["Record", "read_jsonl_rows", "read_records", "write_jsonl", "records_to_rows"]
