"""audit.schema.json: it accepts a complete audit and names the path of what is missing or wrong."""
from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from fixtures.run_folder import synthetic_audit
from memgap.errors import MemgapError
from memgap.report.schema import audit_schema, validate_audit


@pytest.fixture(scope="module")
def audit() -> dict:
    complete, _ = synthetic_audit()
    return json.loads(json.dumps(complete))  # as read back from audit.json


def test_schema_is_draft_2020_12_and_versioned():
    schema = audit_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("/2020-12/schema")
    assert schema["properties"]["schema_version"] == {"const": "1"}


def test_the_synthetic_audit_validates(audit):
    validate_audit(audit)


@pytest.mark.parametrize("key", ["lifts", "gap", "verdict", "schema_version", "split"])
def test_a_missing_required_section_is_named(audit, key):
    broken = copy.deepcopy(audit)
    del broken[key]
    with pytest.raises(MemgapError, match=rf"field '{key}'.*is missing"):
        validate_audit(broken)


def test_a_bad_verdict_label_is_named(audit):
    broken = copy.deepcopy(audit)
    broken["verdict"]["label"] = "learned-everything"
    with pytest.raises(MemgapError, match=r"field 'verdict\.label'") as error:
        validate_audit(broken, source="runs/a/audit.json")
    assert str(error.value).startswith("runs/a/audit.json: ")


def test_estimates_are_strict(audit):
    broken = copy.deepcopy(audit)
    broken["lifts"]["score"]["unseen"]["p_value"] = 1.5
    with pytest.raises(MemgapError, match=r"field 'lifts\.score\.unseen\.p_value'"):
        validate_audit(broken)
    broken = copy.deepcopy(audit)
    broken["gap"]["nll"]["typo_delta"] = 0.1
    with pytest.raises(MemgapError, match=r"field 'gap\.nll\.typo_delta'.*not an allowed key"):
        validate_audit(broken)
    broken = copy.deepcopy(audit)
    del broken["lifts"]["score"]["seen"]["n_families"]
    with pytest.raises(MemgapError, match=r"field 'lifts\.score\.seen\.n_families'"):
        validate_audit(broken)


def test_descriptive_sections_accept_new_keys_and_optional_ones_may_be_absent(audit):
    extended = copy.deepcopy(audit)
    extended["probes"]["new_probe"] = {"base": 0.1, "adapter": 0.2, "anything": [1, 2]}
    extended["families"]["new_metric"] = 3
    validate_audit(extended)
    minimal = {k: v for k, v in audit.items() if k in audit_schema()["required"]}
    validate_audit(minimal)
