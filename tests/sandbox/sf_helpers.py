"""Shared builders for the Salesforce org tests."""

from __future__ import annotations

import datetime as dt

from leadbridge.sandbox.salesforce.org import Org


class StepClock:
    """A clock that moves forward one millisecond per reading unless told otherwise."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2024, 5, 20, 20, 49, 32, tzinfo=dt.UTC)
        self.step = dt.timedelta(milliseconds=1)

    def __call__(self) -> dt.datetime:
        value = self.now
        self.now = self.now + self.step
        return value


def make_org(**kwargs: object) -> tuple[Org, str]:
    """An org on a stepping clock and its integration user id."""
    org = Org(clock=StepClock(), **kwargs)  # type: ignore[arg-type]
    return org, org.integration_user_id


def lead(**extra: object) -> dict[str, object]:
    """Minimal valid Lead values plus overrides."""
    return {"LastName": "Sato", "Company": "Acme KK", **extra}


def grant(org: Org, user: str, field: str, *, read: bool = True, edit: bool = True) -> str:
    """Create a permission set with FLS on `Object.Field` and assign it to the user."""
    ps = org.create(
        "PermissionSet",
        {"Name": f"PS_{len(org.records('PermissionSet'))}", "Label": "Sync"},
        user_id=org.integration_user_id,
    )
    org.create(
        "FieldPermissions",
        {
            "ParentId": ps,
            "SobjectType": field.split(".")[0],
            "Field": field,
            "PermissionsRead": read,
            "PermissionsEdit": edit,
        },
        user_id=org.integration_user_id,
    )
    org.create(
        "PermissionSetAssignment",
        {"AssigneeId": user, "PermissionSetId": ps},
        user_id=org.integration_user_id,
    )
    return ps


def add_field(org: Org, full_name: str, metadata: dict[str, object]) -> str:
    """Create a custom field through the Tooling model; returns its id."""
    result = org.create_custom_field(
        {"FullName": full_name, "Metadata": metadata}, user_id=org.integration_user_id
    )
    return str(result["id"])
