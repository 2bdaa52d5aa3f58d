"""The versioned JSON schema of audit.json and the check that names the first bad path.

The schema (audit.schema.json, draft 2020-12) is strict where other tools read the file: the
required top-level sections, the lift and gap estimates, and the verdict. Inside the descriptive
sections (families, gradients, probes, ...) it accepts extra keys, so they can grow without a new
schema version.
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from memgap.errors import MemgapError

SCHEMA_VERSION = "1"


@functools.cache
def audit_schema() -> dict[str, Any]:
    """The audit.json schema shipped with the package."""
    text = resources.files("memgap.report").joinpath("audit.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _validator():
    from jsonschema import Draft202012Validator

    schema = audit_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_audit(audit: dict[str, Any], *, source: str = "audit.json") -> None:
    """Raise MemgapError naming the first bad path (e.g. `lifts.score.seen.p_value`) if `audit` breaks the schema."""
    errors = list(_validator().iter_errors(audit))
    if not errors:
        return
    # The shallowest problem first: a missing section says more than the errors nested below it.
    error = min(errors, key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]))
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [key for key in error.validator_value if key not in error.instance]
        path.append(missing[0])
        message = "is missing"
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema.get("properties") or {}))
        extra = sorted(key for key in error.instance if key not in allowed)
        path.append(extra[0])
        message = "is not an allowed key here"
    else:
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    dotted = ".".join(path) or "(top level)"
    more = f"; {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''}" if len(errors) > 1 else ""
    raise MemgapError(f"{message} (audit schema {SCHEMA_VERSION}){more}", where=f"{source}: field '{dotted}'")
