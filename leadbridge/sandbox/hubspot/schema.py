"""Property metadata types: options, definitions and groups in HubSpot's JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import JsonDict
from .values import iso_ms

# Which fieldType HubSpot accepts for each type (its "property type and fieldType" table).
FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset(
        {"text", "textarea", "file", "html", "phonenumber", "calculation_equation"}
    ),
    "number": frozenset({"number", "calculation_equation"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset(
        {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"}
    ),
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
}


@dataclass(frozen=True, slots=True)
class Option:
    """One enumeration option."""

    label: str
    value: str
    display_order: int = 0
    hidden: bool = False
    description: str = ""

    def to_dict(self) -> JsonDict:
        """HubSpot's Option shape."""
        return {
            "label": self.label,
            "value": self.value,
            "displayOrder": self.display_order,
            "hidden": self.hidden,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class PropertyDefinition:
    """One property of an object type, as HubSpot's properties API describes it."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: tuple[Option, ...] = ()
    display_order: int = -1
    hidden: bool = False
    form_field: bool = True
    hubspot_defined: bool = False
    has_unique_value: bool = False
    read_only_value: bool = False
    read_only_definition: bool = False
    calculated: bool = False
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def is_multi(self) -> bool:
        """True for multi-checkbox enumerations, whose values are `;`-joined."""
        return self.type == "enumeration" and self.field_type == "checkbox"

    def to_dict(self) -> JsonDict:
        """HubSpot's Property shape."""
        body: JsonDict = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [o.to_dict() for o in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "formField": self.form_field,
            "archived": False,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.read_only_definition,
                "readOnlyValue": self.read_only_value,
            },
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        return body


@dataclass(frozen=True, slots=True)
class PropertyGroup:
    """A property group."""

    name: str
    label: str
    display_order: int = -1

    def to_dict(self) -> JsonDict:
        """HubSpot's PropertyGroup shape."""
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": False,
        }
