"""Salesforce id checksum and normalisation."""

from __future__ import annotations

import pytest

from leadbridge.sandbox.salesforce.errors import SalesforceError
from leadbridge.sandbox.salesforce.ids import (
    IdAllocator,
    checksum,
    is_valid_id,
    make_id,
    normalize_id,
    object_for_id,
    to_18,
)


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("001000000000001", "001000000000001AAA"),
        ("0015000000Gv7qJ", "0015000000Gv7qJAAR"),  # the example in Salesforce's docs
        ("00QABCDE00000AA", "00QABCDE00000AA2HY"),  # Q,A,B -> 28 -> "2"
        ("003Z0000000000Z", "003Z0000000000ZIAQ"),
        ("a0B000000000000", "a0B000000000000EAA"),
    ],
)
def test_checksum_of_known_ids(id15: str, id18: str) -> None:
    assert to_18(id15) == id18
    assert to_18(id18) == id18
    assert checksum(id15) == id18[15:]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("001000000000001", True),
        ("001000000000001AAA", True),
        ("001000000000001AAB", False),
        ("00100000000000", False),
        ("00100000000000!", False),
        ("", False),
    ],
)
def test_validity(value: str, valid: bool) -> None:
    assert is_valid_id(value) is valid


def test_normalize_rejects_malformed_with_salesforce_error() -> None:
    with pytest.raises(SalesforceError) as err:
        normalize_id("nope", label="Lead ID")
    assert (err.value.status, err.value.error_code) == (400, "MALFORMED_ID")


@pytest.mark.parametrize(
    ("prefix", "name"),
    [
        ("00Q", "Lead"),
        ("003", "Contact"),
        ("001", "Account"),
        ("006", "Opportunity"),
        ("00T", "Task"),
        ("005", "User"),
        ("00G", "Group"),
        ("03g", "QueueSobject"),
        ("0PS", "PermissionSet"),
        ("0Pa", "PermissionSetAssignment"),
        ("01k", "FieldPermissions"),
    ],
)
def test_prefixes_round_trip(prefix: str, name: str) -> None:
    record_id = make_id(prefix, 12345)
    assert len(record_id) == 18
    assert record_id.startswith(prefix)
    assert is_valid_id(record_id)
    assert object_for_id(record_id) == name


def test_allocated_ids_sort_in_creation_order() -> None:
    alloc = IdAllocator()
    ids = [alloc.allocate("00Q") for _ in range(100)] + alloc.allocate_many("00Q", 100)
    assert ids == sorted(ids)
    assert len(set(ids)) == 200
