"""Reading and validating SFT records (JSONL, JSON, CSV, Parquet) in TRL's conventions."""
from memgap.data.records import Record
from memgap.data.io import read_records, write_jsonl, records_to_rows

__all__ = ["Record", "read_records", "write_jsonl", "records_to_rows"]
