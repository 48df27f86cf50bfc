"""Salesforce provisioning: Tooling API custom fields plus field-level security.

A custom field is invisible to the API until a permission set grants it and the integration
user holds that set, so "ensure a field" means three things: the field exists with a
compatible type, a leadbridge permission set grants read/edit on it, and the user is assigned.
Nothing is ever deleted or retyped; incompatible fields are reported with the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from simple_salesforce.format import format_soql

from leadbridge.connectors.base import (
    FieldSchema,
    FieldSpec,
    FieldType,
    ProvisionAction,
    ProvisionPlan,
    WriteOp,
)
from leadbridge.errors import SetupError

if TYPE_CHECKING:
    from leadbridge.connectors.salesforce.connector import SalesforceConnector

PERMISSION_SET = "Leadbridge_Integration"

_COMPATIBLE: dict[FieldType, frozenset[str]] = {
    FieldType.NUMBER: frozenset({"double", "int", "currency", "percent"}),
    FieldType.INTEGER: frozenset({"double", "int"}),
    FieldType.BOOLEAN: frozenset({"boolean"}),
    FieldType.PICKLIST: frozenset({"picklist"}),
    FieldType.MULTIPICKLIST: frozenset({"multipicklist"}),
    FieldType.STRING: frozenset({"string"}),
    FieldType.TEXT: frozenset({"textarea"}),
    FieldType.DATETIME: frozenset({"datetime"}),
    FieldType.DATE: frozenset({"date"}),
    FieldType.EMAIL: frozenset({"email", "string"}),
}


def field_metadata(spec: FieldSpec) -> dict[str, Any]:
    """The Tooling API Metadata for one field spec."""
    meta: dict[str, Any] = {"label": spec.label, "description": spec.description}
    kind = spec.type
    if kind in (FieldType.NUMBER, FieldType.INTEGER):
        meta |= {
            "type": "Number",
            "precision": spec.precision or 18,
            "scale": 0 if kind is FieldType.INTEGER else (spec.scale or 0),
        }
    elif kind is FieldType.BOOLEAN:
        meta |= {"type": "Checkbox", "defaultValue": "false"}
    elif kind in (FieldType.PICKLIST, FieldType.MULTIPICKLIST):
        meta |= {
            "type": "Picklist" if kind is FieldType.PICKLIST else "MultiselectPicklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [
                        {"fullName": o.value, "label": o.label, "default": False}
                        for o in spec.options
                    ],
                },
            },
        }
        if kind is FieldType.MULTIPICKLIST:
            meta["visibleLines"] = 4
    elif kind is FieldType.TEXT:
        meta |= {"type": "LongTextArea", "length": spec.length or 32768, "visibleLines": 5}
    elif kind is FieldType.DATETIME:
        meta |= {"type": "DateTime"}
    elif kind is FieldType.DATE:
        meta |= {"type": "Date"}
    elif kind is FieldType.EMAIL:
        meta |= {"type": "Email"}
    else:
        meta |= {"type": "Text", "length": spec.length or 255}
    if spec.external_id:
        meta |= {"externalId": True, "unique": spec.unique}
    return meta


def _problem(existing: FieldSchema, spec: FieldSpec) -> tuple[str, str] | None:
    allowed = _COMPATIBLE.get(spec.type, frozenset({existing.native_type}))
    if existing.native_type not in allowed:
        return (
            f"exists as {existing.native_type}, leadbridge needs {spec.type.value}",
            "create a field of the right type under another name and set it in config "
            "(leadbridge never retypes a field)",
        )
    missing = [o.value for o in spec.options if o.value not in existing.picklist_values]
    if missing:
        return (
            f"picklist lacks values: {', '.join(missing)}",
            "add these values in Setup > Object Manager > the field > Values",
        )
    return None


def ensure_fields(
    connector: SalesforceConnector, object_name: str, specs: Sequence[FieldSpec], *, apply: bool
) -> ProvisionPlan:
    """Compare the org with the specs; with apply=True create what is missing and grant access."""
    for spec in specs:
        if not spec.name.endswith("__c"):
            raise SetupError(
                f"{spec.name} is not a custom field name",
                hint="Salesforce custom field API names end with __c",
            )
    visible = connector.describe(object_name)
    existing = _custom_fields(connector, object_name)
    permission_set = _permission_set(connector, apply=apply)
    granted = _granted(connector, permission_set, object_name) if permission_set else set()
    actions: list[ProvisionAction] = []
    to_create: list[FieldSpec] = []
    to_grant: list[str] = []
    for spec in specs:
        seen = visible.field(spec.name)
        if seen is not None:
            problem = _problem(seen, spec)
            if problem:
                detail, fix = problem
                actions.append(ProvisionAction(object_name, spec.name, "conflict", detail, fix))
            elif f"{object_name}.{spec.name}".lower() not in granted:
                # Visible through some other grant; leadbridge's own set makes it durable.
                to_grant.append(spec.name)
            else:
                actions.append(ProvisionAction(object_name, spec.name, "ok", "present and visible"))
            continue
        if spec.name.removesuffix("__c").lower() in existing:
            to_grant.append(spec.name)
            continue
        to_create.append(spec)
        to_grant.append(spec.name)
    for spec in to_create:
        actions.append(
            ProvisionAction(
                object_name,
                spec.name,
                "create",
                f"create {field_metadata(spec)['type']} field '{spec.label}'",
            )
        )
    for name in to_grant:
        actions.append(
            ProvisionAction(
                object_name,
                name,
                "grant_access",
                f"grant read/edit through permission set {PERMISSION_SET}",
            )
        )
    if apply and (to_create or to_grant):
        for spec in to_create:
            _create_field(connector, object_name, spec)
        permission_set = permission_set or _permission_set(connector, apply=True)
        assert permission_set is not None
        _grant(connector, permission_set, object_name, to_grant)
        _assign(connector, permission_set)
    return ProvisionPlan(side="salesforce", actions=tuple(actions), applied=apply)


def _custom_fields(connector: SalesforceConnector, object_name: str) -> set[str]:
    soql = format_soql(
        "SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = {}", object_name
    )
    result = connector.client.call(
        "tooling query CustomField",
        lambda sf: sf.toolingexecute("query/", method="GET", params={"q": soql}),
        idempotent=True,
    )
    return {str(row["DeveloperName"]).lower() for row in result.get("records", [])}


def _permission_set(connector: SalesforceConnector, *, apply: bool) -> str | None:
    found = connector.client.call(
        "query PermissionSet",
        lambda sf: sf.query(
            format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET)
        ),
        idempotent=True,
    )
    if found.get("records"):
        return str(found["records"][0]["Id"])
    if not apply:
        return None
    created = connector.client.call(
        "create PermissionSet",
        lambda sf: sf.restful(
            "sobjects/PermissionSet/",
            method="POST",
            json={"Name": PERMISSION_SET, "Label": "leadbridge integration"},
        ),
        idempotent=False,
    )
    if not isinstance(created, dict) or "id" not in created:
        raise SetupError("Salesforce did not return the new permission set's id")
    return str(created["id"])


def _granted(connector: SalesforceConnector, permission_set: str, object_name: str) -> set[str]:
    soql = format_soql(
        "SELECT Field FROM FieldPermissions WHERE ParentId = {} AND SobjectType = {} "
        "AND PermissionsRead = true",
        permission_set,
        object_name,
    )
    result = connector.client.call(
        "query FieldPermissions", lambda sf: sf.query(soql), idempotent=True
    )
    return {str(row["Field"]).lower() for row in result.get("records", [])}


def _create_field(connector: SalesforceConnector, object_name: str, spec: FieldSpec) -> None:
    body = {"FullName": f"{object_name}.{spec.name}", "Metadata": field_metadata(spec)}
    connector.client.call(
        f"create field {object_name}.{spec.name}",
        lambda sf: sf.toolingexecute("sobjects/CustomField/", method="POST", data=body),
        idempotent=False,
    )


def _grant(
    connector: SalesforceConnector, permission_set: str, object_name: str, names: list[str]
) -> None:
    ops = [
        WriteOp(
            kind="create",
            ref=name,
            values={
                "ParentId": permission_set,
                "SobjectType": object_name,
                "Field": f"{object_name}.{name}",
                "PermissionsRead": True,
                "PermissionsEdit": True,
            },
        )
        for name in names
    ]
    for result in connector.write("FieldPermissions", ops):
        if not result.ok and result.error is not None and result.error.code != "DUPLICATE_VALUE":
            raise SetupError(
                f"could not grant {object_name}.{result.ref}: {result.error.message}",
                hint="give the integration user the Manage Users / Customize Application "
                "permissions, or grant the field in Setup",
            )


def _assign(connector: SalesforceConnector, permission_set: str) -> None:
    username = connector.client.credentials.username
    if not username:
        raise SetupError(
            "cannot assign the permission set: the integration user's username is unknown",
            hint="set salesforce.username in the configuration",
        )
    users = connector.client.call(
        "query User",
        lambda sf: sf.query(format_soql("SELECT Id FROM User WHERE Username = {}", username)),
        idempotent=True,
    )
    if not users.get("records"):
        raise SetupError(f"no Salesforce user named {username}", hint="check salesforce.username")
    user_id = str(users["records"][0]["Id"])
    assigned = connector.client.call(
        "query PermissionSetAssignment",
        lambda sf: sf.query(
            format_soql(
                "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} "
                "AND PermissionSetId = {}",
                user_id,
                permission_set,
            )
        ),
        idempotent=True,
    )
    if assigned.get("records"):
        return
    connector.client.call(
        "assign PermissionSet",
        lambda sf: sf.restful(
            "sobjects/PermissionSetAssignment/",
            method="POST",
            json={"AssigneeId": user_id, "PermissionSetId": permission_set},
        ),
        idempotent=False,
    )
