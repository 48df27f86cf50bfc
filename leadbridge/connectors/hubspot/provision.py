"""HubSpot provisioning: properties in a `leadbridge` property group; additive changes only.

Missing properties are created, missing enumeration options are added (HubSpot's PATCH
replaces the option list, so the existing options are sent along); a property of the wrong
type is reported with the fix and never changed.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from leadbridge.connectors.base import (
    FieldSchema,
    FieldSpec,
    FieldType,
    ProvisionAction,
    ProvisionPlan,
)

if TYPE_CHECKING:
    from leadbridge.connectors.hubspot.connector import HubSpotConnector

GROUP = "leadbridge"

_KINDS: dict[FieldType, tuple[str, str]] = {
    FieldType.NUMBER: ("number", "number"),
    FieldType.INTEGER: ("number", "number"),
    FieldType.BOOLEAN: ("bool", "booleancheckbox"),
    FieldType.PICKLIST: ("enumeration", "select"),
    FieldType.MULTIPICKLIST: ("enumeration", "checkbox"),
    FieldType.TEXT: ("string", "textarea"),
    FieldType.DATE: ("date", "date"),
    FieldType.DATETIME: ("datetime", "date"),
}


def property_definition(spec: FieldSpec) -> dict[str, Any]:
    """The properties API body for one field spec."""
    prop_type, field_type = _KINDS.get(spec.type, ("string", "text"))
    body: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label,
        "type": prop_type,
        "fieldType": field_type,
        "groupName": GROUP,
        "description": spec.description,
        "hasUniqueValue": spec.external_id and spec.unique,
    }
    if prop_type == "bool":
        body["options"] = [
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ]
    elif prop_type == "enumeration":
        body["options"] = [
            {"label": o.label, "value": o.value, "displayOrder": i, "hidden": False}
            for i, o in enumerate(spec.options)
        ]
    return body


def _compatible(existing: FieldSchema, spec: FieldSpec) -> bool:
    wanted = {spec.type}
    if spec.type is FieldType.INTEGER:
        wanted.add(FieldType.NUMBER)
    if spec.type in (FieldType.STRING, FieldType.EMAIL):
        wanted |= {FieldType.STRING, FieldType.TEXT}
    return existing.type in wanted


def ensure_properties(
    connector: HubSpotConnector, object_name: str, specs: Sequence[FieldSpec], *, apply: bool
) -> ProvisionPlan:
    """Compare the portal with the specs; with apply=True make the additive changes."""
    client = connector.client
    schema = connector.describe(object_name)
    groups = client.call(
        "property groups",
        lambda: client.apis.groups.get_all_with_http_info(
            object_type=object_name, _request_timeout=client.timeout, _preload_content=False
        ),
        idempotent=True,
    )
    group_names = {g["name"] for g in (groups or {}).get("results") or []}
    actions: list[ProvisionAction] = []
    creates: list[FieldSpec] = []
    option_updates: list[tuple[FieldSchema, FieldSpec, list[str]]] = []
    if GROUP not in group_names:
        actions.append(
            ProvisionAction(object_name, f"(group {GROUP})", "create", "create property group")
        )
    for spec in specs:
        existing = schema.field(spec.name)
        if existing is None:
            creates.append(spec)
            kind = property_definition(spec)
            actions.append(
                ProvisionAction(
                    object_name,
                    spec.name,
                    "create",
                    f"create {kind['type']}/{kind['fieldType']} property '{spec.label}'",
                )
            )
        elif not _compatible(existing, spec):
            actions.append(
                ProvisionAction(
                    object_name,
                    spec.name,
                    "conflict",
                    f"exists as {existing.native_type}, leadbridge needs {spec.type.value}",
                    "create a property of the right type under another name and set it in "
                    "config (leadbridge never retypes a property)",
                )
            )
        else:
            missing = [o.value for o in spec.options if o.value not in existing.picklist_values]
            if missing:
                option_updates.append((existing, spec, missing))
                actions.append(
                    ProvisionAction(
                        object_name, spec.name, "add_options", f"add options {', '.join(missing)}"
                    )
                )
            else:
                actions.append(ProvisionAction(object_name, spec.name, "ok", "present"))
    if apply:
        models = importlib.import_module("hubspot.crm.properties")
        if GROUP not in group_names:
            group = models.PropertyGroupCreate(name=GROUP, label="leadbridge", display_order=-1)
            client.call(
                "create property group",
                lambda: client.apis.groups.create_with_http_info(
                    object_type=object_name,
                    property_group_create=group,
                    _request_timeout=client.timeout,
                    _preload_content=False,
                ),
                idempotent=False,
            )
        for spec in creates:
            body = property_definition(spec)
            create = models.PropertyCreate(
                name=body["name"],
                label=body["label"],
                type=body["type"],
                field_type=body["fieldType"],
                group_name=body["groupName"],
                description=body["description"],
                has_unique_value=body["hasUniqueValue"],
                options=[models.OptionInput(**_snake(o)) for o in body.get("options", [])],
            )
            client.call(
                f"create property {spec.name}",
                partial(
                    client.apis.properties.create_with_http_info,
                    object_type=object_name,
                    property_create=create,
                    _request_timeout=client.timeout,
                    _preload_content=False,
                ),
                idempotent=False,
            )
        for existing, spec, missing in option_updates:
            keep = [
                models.OptionInput(label=v, value=v, display_order=i, hidden=False)
                for i, v in enumerate(existing.picklist_values)
            ]
            labels = {o.value: o.label for o in spec.options}
            added = [
                models.OptionInput(
                    label=labels[v], value=v, display_order=len(keep) + i, hidden=False
                )
                for i, v in enumerate(missing)
            ]
            update = models.PropertyUpdate(options=keep + added)
            client.call(
                f"add options to {spec.name}",
                partial(
                    client.apis.properties.update_with_http_info,
                    object_type=object_name,
                    property_name=spec.name,
                    property_update=update,
                    _request_timeout=client.timeout,
                    _preload_content=False,
                ),
                idempotent=True,
            )
    return ProvisionPlan(side="hubspot", actions=tuple(actions), applied=apply)


def _snake(option: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": option["label"],
        "value": option["value"],
        "display_order": option["displayOrder"],
        "hidden": option["hidden"],
    }
