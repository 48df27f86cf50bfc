"""Property definitions and groups of one portal, and validation of written values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .defaults import (
    COMPANY_SPECS,
    CONTACT_SPECS,
    DEFAULT_GROUPS,
    DEFAULT_RETURNED,
    LAST_MODIFIED,
    OBJECT_TYPES,
    build_default,
)
from .errors import (
    JsonDict,
    conflict,
    invalid_properties,
    not_found,
    property_value_error,
    validation_error,
)
from .schema import FIELD_TYPES, Option, PropertyDefinition, PropertyGroup
from .values import (
    as_text,
    normalize_bool,
    normalize_date,
    normalize_datetime,
    normalize_number,
)

__all__ = [
    "DEFAULT_RETURNED",
    "LAST_MODIFIED",
    "OBJECT_TYPES",
    "PropertyRegistry",
    "names_in",
]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def _parse_options(raw: object) -> tuple[Option, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise validation_error("options must be a list")
    parsed: list[Option] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("value"), str)
            or not (isinstance(item.get("label"), str))
        ):
            raise validation_error(f"options[{index}] needs a string label and value")
        value = str(item["value"])
        if value in seen:
            raise validation_error(f"Duplicate option value: {value}")
        seen.add(value)
        parsed.append(
            Option(
                label=str(item["label"]),
                value=value,
                display_order=int(item.get("displayOrder", index)),
                hidden=bool(item.get("hidden", False)),
                description=str(item.get("description") or ""),
            )
        )
    return tuple(parsed)


class PropertyRegistry:
    """Property definitions and groups per object type, plus write-value validation."""

    def __init__(self, *, portal_id: int, created_ms: int) -> None:
        self.portal_id = portal_id
        self._props: dict[str, dict[str, PropertyDefinition]] = {}
        self._groups: dict[str, dict[str, PropertyGroup]] = {}
        specs = {"contacts": CONTACT_SPECS, "companies": COMPANY_SPECS}
        for object_type in OBJECT_TYPES:
            self._props[object_type] = {
                s[0]: build_default(s, i, created_ms) for i, s in enumerate(specs[object_type])
            }
            self._groups[object_type] = {
                name: PropertyGroup(name=name, label=label, display_order=i)
                for i, (name, label) in enumerate(DEFAULT_GROUPS[object_type])
            }

    def _table(self, object_type: str) -> dict[str, PropertyDefinition]:
        table = self._props.get(object_type)
        if table is None:
            raise not_found(f"Unable to infer object type from: {object_type}")
        return table

    def names(self, object_type: str) -> Iterable[str]:
        """Names of every property of the object type."""
        return self._table(object_type).keys()

    def find(self, object_type: str, name: str) -> PropertyDefinition | None:
        """The definition of one property, or None."""
        return self._table(object_type).get(name)

    def get(self, object_type: str, name: str) -> PropertyDefinition:
        """The definition of one property, 404 when missing."""
        definition = self.find(object_type, name)
        if definition is None:
            raise not_found(f"Unable to find property {name} on object type {object_type}")
        return definition

    def unique_names(self, object_type: str) -> list[str]:
        """Properties whose values must be unique across records."""
        return [p.name for p in self._table(object_type).values() if p.has_unique_value]

    def read_all(self, object_type: str) -> JsonDict:
        """GET /crm/v3/properties/{objectType} body."""
        return {"results": [p.to_dict() for p in self._table(object_type).values()]}

    def create(self, *, object_type: str, body: Mapping[str, Any], now_ms: int) -> JsonDict:
        """POST /crm/v3/properties/{objectType}: 201 body, 409 when the name exists."""
        table = self._table(object_type)
        required = ("name", "label", "type", "fieldType", "groupName")
        missing = [k for k in required if not body.get(k)]
        if missing:
            raise validation_error(f"Missing required fields: {', '.join(missing)}")
        name, type_, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
        if name in table:
            raise conflict(f"A property named '{name}' already exists.", context={"name": [name]})
        if not _NAME_RE.match(name):
            raise validation_error(
                f"Property name '{name}' must start with a lowercase letter and contain only "
                "lowercase letters, digits and underscores."
            )
        if type_ not in FIELD_TYPES:
            raise validation_error(f"Invalid property type: {type_}")
        if field_type not in FIELD_TYPES[type_]:
            raise validation_error(f"Property type {type_} does not support fieldType {field_type}")
        group_name = str(body["groupName"])
        if group_name not in self._groups[object_type]:
            raise validation_error(f"Property group {group_name} does not exist")
        options = _parse_options(body.get("options"))
        if type_ == "bool" and not options:
            options = (Option("Yes", "true", 0), Option("No", "false", 1))
        definition = PropertyDefinition(
            name=name,
            label=str(body["label"]),
            type=type_,
            field_type=field_type,
            group_name=group_name,
            description=str(body.get("description") or ""),
            options=options,
            display_order=int(body.get("displayOrder", -1)),
            hidden=bool(body.get("hidden", False)),
            form_field=bool(body.get("formField", True)),
            has_unique_value=bool(body.get("hasUniqueValue", False)),
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        table[name] = definition
        return definition.to_dict()

    def update(
        self, *, object_type: str, name: str, body: Mapping[str, Any], now_ms: int
    ) -> JsonDict:
        """PATCH /crm/v3/properties/{objectType}/{name}: options are replaced wholesale."""
        current = self.get(object_type, name)
        if current.read_only_definition:
            raise validation_error(f"Property {name} is read-only and cannot be modified")
        changes: dict[str, Any] = {"updated_ms": now_ms}
        if "type" in body and body["type"] != current.type:
            # HubSpot allows type changes only through a separate, destructive flow.
            if current.hubspot_defined:
                raise validation_error(f"Cannot change the type of HubSpot property {name}")
            changes["type"] = str(body["type"])
        type_ = str(changes.get("type", current.type))
        field_type = str(body.get("fieldType", current.field_type))
        if type_ not in FIELD_TYPES or field_type not in FIELD_TYPES[type_]:
            raise validation_error(f"Property type {type_} does not support fieldType {field_type}")
        changes["field_type"] = field_type
        for key, attr in (
            ("label", "label"),
            ("description", "description"),
            ("groupName", "group_name"),
        ):
            if key in body:
                changes[attr] = str(body[key])
        if "groupName" in body and str(body["groupName"]) not in self._groups[object_type]:
            raise validation_error(f"Property group {body['groupName']} does not exist")
        for key, attr in (("hidden", "hidden"), ("formField", "form_field")):
            if key in body:
                changes[attr] = bool(body[key])
        if "displayOrder" in body:
            changes["display_order"] = int(body["displayOrder"])
        if "options" in body:
            changes["options"] = _parse_options(body["options"])
        updated = replace(current, **changes)
        self._table(object_type)[name] = updated
        return updated.to_dict()

    def read_groups(self, object_type: str) -> JsonDict:
        """GET /crm/v3/properties/{objectType}/groups body."""
        self._table(object_type)
        return {"results": [g.to_dict() for g in self._groups[object_type].values()]}

    def create_group(self, *, object_type: str, body: Mapping[str, Any]) -> JsonDict:
        """POST /crm/v3/properties/{objectType}/groups: 201 body, 409 when the name exists."""
        self._table(object_type)
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not name or not isinstance(label, str) or not label:
            raise validation_error("Property group needs a name and a label")
        groups = self._groups[object_type]
        if name in groups:
            raise conflict(
                f"A property group named '{name}' already exists.", context={"name": [name]}
            )
        order = int(body.get("displayOrder", -1))
        group = PropertyGroup(name=name, label=label, display_order=order)
        groups[name] = group
        return group.to_dict()

    # --- values -------------------------------------------------------------------------

    def coerce_values(
        self,
        *,
        object_type: str,
        values: Mapping[str, object],
        allow_read_only: bool = False,
    ) -> dict[str, str | None]:
        """Validate written values and return them as HubSpot stores them (raises 400)."""
        table = self._table(object_type)
        stored: dict[str, str | None] = {}
        problems: list[JsonDict] = []
        for name, raw in values.items():
            definition = table.get(name)
            if definition is None:
                problems.append(
                    self._problem(
                        name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                )
                continue
            if definition.read_only_value and not allow_read_only:
                problems.append(
                    self._problem(
                        name,
                        "READ_ONLY_VALUE",
                        f"{name} is a read only property; its value cannot be set.",
                    )
                )
                continue
            if raw is None or (isinstance(raw, str) and raw == ""):
                # An empty write clears the value.
                stored[name] = None
                continue
            result = self._coerce_one(definition, raw)
            if isinstance(result, tuple):
                problems.append(self._problem(name, result[0], result[1]))
            else:
                stored[name] = result
        if problems:
            raise invalid_properties(problems)
        return stored

    def _problem(self, name: str, code: str, message: str) -> JsonDict:
        return property_value_error(name=name, code=code, message=message, portal_id=self.portal_id)

    @staticmethod
    def _coerce_one(definition: PropertyDefinition, raw: object) -> str | tuple[str, str]:
        """Stored text, or (error code, message)."""
        shown = as_text(raw)
        if isinstance(raw, Mapping | list):
            return ("INVALID_VALUE", f"{shown} is not a valid value for {definition.name}")
        type_ = definition.type
        if type_ == "number":
            number = normalize_number(raw)
            return (
                number
                if number is not None
                else ("INVALID_FLOAT", f"{shown} was not a valid number.")
            )
        if type_ == "bool":
            flag = normalize_bool(raw)
            return (
                flag
                if flag is not None
                else ("INVALID_BOOLEAN", f"{shown} was not a valid boolean.")
            )
        if type_ == "datetime":
            moment = normalize_datetime(raw)
            return (
                moment
                if moment is not None
                else ("INVALID_DATE", f"{shown} was not a valid datetime (epoch ms or ISO 8601).")
            )
        if type_ == "date":
            day = normalize_date(raw)
            return (
                day
                if day is not None
                else (
                    "INVALID_DATE",
                    f"{shown} is not a valid date: use YYYY-MM-DD or epoch ms at midnight UTC.",
                )
            )
        if type_ == "enumeration":
            return _coerce_enumeration(definition, shown)
        if definition.name == "email":
            return _coerce_email(shown)
        return shown


def _coerce_enumeration(definition: PropertyDefinition, shown: str) -> str | tuple[str, str]:
    allowed = [o.value for o in definition.options]
    chosen = [part for part in shown.split(";") if part] if definition.is_multi else [shown]
    bad = [c for c in chosen if c not in allowed]
    if bad:
        return (
            "INVALID_OPTION",
            f"{bad[0]} was not one of the allowed options: [{', '.join(allowed)}]",
        )
    return ";".join(chosen)


def _coerce_email(shown: str) -> str | tuple[str, str]:
    email = shown.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email:
        return ("INVALID_EMAIL", f"Email address {shown} is invalid")
    return email


def names_in(requested: Sequence[str] | str | None) -> list[str] | None:
    """Requested property names from a list or a comma-separated string; None if not given."""
    if requested is None:
        return None
    items = [requested] if isinstance(requested, str) else list(requested)
    names: list[str] = []
    for item in items:
        names.extend(part.strip() for part in str(item).split(",") if part.strip())
    return names
