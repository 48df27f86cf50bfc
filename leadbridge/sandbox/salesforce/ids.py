"""Salesforce record ids: key prefixes, the case-safe checksum, 15/18-character forms."""

from __future__ import annotations

import re

from leadbridge.sandbox.salesforce.errors import SalesforceError

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Lead": "00Q",
    "Task": "00T",
    "Group": "00G",
    "QueueSobject": "03g",
    "CustomField": "00N",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "FieldPermissions": "01k",
    "Organization": "00D",
    "BulkJob": "750",
}
_OBJECT_BY_PREFIX = {prefix: name for name, prefix in KEY_PREFIXES.items()}

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# Base62 in ASCII order, so lexical id order equals creation order within a prefix.
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
# Two pod characters and one reserved character, as in real ids (e.g. 00Q5g00000...).
_POD = "5g0"


# ASCII character -> "1" for an upper-case letter, "0" otherwise: one translate gives the bits.
_CASE_BITS = {code: "1" if "A" <= chr(code) <= "Z" else "0" for code in range(128)}


def checksum(id15: str) -> str:
    """Return the 3-character case-safe suffix of a 15-character id."""
    if len(id15) != 15:
        raise ValueError(f"expected a 15-character id, got {id15!r}")
    if id15.isascii():
        # Each 5-character chunk is a 5-bit number, its first character the lowest bit.
        flags = id15.translate(_CASE_BITS)
        return (
            _SUFFIX_ALPHABET[int(flags[4::-1], 2)]
            + _SUFFIX_ALPHABET[int(flags[9:4:-1], 2)]
            + _SUFFIX_ALPHABET[int(flags[14:9:-1], 2)]
        )
    suffix = []
    for chunk in range(3):
        bits = 0
        for pos in range(5):
            char = id15[chunk * 5 + pos]
            if "A" <= char <= "Z":
                bits |= 1 << pos
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def to_18(record_id: str) -> str:
    """Return the 18-character form of a 15- or 18-character id (the suffix is recomputed)."""
    if not _ID_RE.match(record_id):
        raise ValueError(f"malformed id {record_id!r}")
    base = record_id[:15]
    return base + checksum(base)


def is_valid_id(record_id: str) -> bool:
    """True for a well-formed 15-character id or an 18-character one with a matching suffix."""
    if not _ID_RE.match(record_id):
        return False
    return len(record_id) == 15 or record_id[15:] == checksum(record_id[:15])


def canonical_id(record_id: str) -> str | None:
    """The 18-character form of a well-formed id (checked once), or None."""
    if not is_valid_id(record_id):
        return None
    return record_id if len(record_id) == 18 else to_18(record_id)


def normalize_id(record_id: object, *, label: str = "id") -> str:
    """Return the 18-character id, raising MALFORMED_ID the way Salesforce does for bad input."""
    if not isinstance(record_id, str) or not is_valid_id(record_id):
        raise SalesforceError(
            status=400,
            error_code="MALFORMED_ID",
            message=f"{label}: id value of incorrect type: {record_id}",
            fields=[] if label == "id" else [label],
        )
    return to_18(record_id)


def object_for_id(record_id: str) -> str | None:
    """The object name owning an id's key prefix, or None when the prefix is unknown."""
    return _OBJECT_BY_PREFIX.get(record_id[:3])


def make_id(prefix: str, number: int) -> str:
    """Build the 18-character id for a key prefix and a sequence number."""
    if not 0 <= number < 62**9:
        raise ValueError("sequence number out of range")
    digits = ["0"] * 9
    position = 8
    while number:
        number, rem = divmod(number, 62)
        digits[position] = _BASE62[rem]
        position -= 1
    base = prefix + _POD + "".join(digits)
    return base + checksum(base)


class IdAllocator:
    """Hands out increasing ids per key prefix."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def allocate(self, prefix: str) -> str:
        """Return the next id for a key prefix."""
        number = self._next.get(prefix, 1)
        self._next[prefix] = number + 1
        return make_id(prefix, number)

    def allocate_many(self, prefix: str, count: int) -> list[str]:
        """Return `count` consecutive ids for a key prefix (bulk seeding)."""
        start = self._next.get(prefix, 1)
        self._next[prefix] = start + count
        return [make_id(prefix, n) for n in range(start, start + count)]
