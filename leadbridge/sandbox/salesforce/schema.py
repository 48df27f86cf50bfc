"""Object and field definitions of the emulated org and their describe output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
}
STRING_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
    }
)
_ID_TYPES = frozenset({"id", "reference"})
_UNGROUPABLE = frozenset({"double", "currency", "percent", "datetime"})
# Long text areas cannot be filtered, grouped or sorted in SOQL.
_LONG_TEXT = 255


@dataclass(frozen=True)
class PicklistValue:
    """One picklist entry."""

    value: str
    label: str
    default: bool = False
    active: bool = True

    def describe(self) -> dict[str, Any]:
        """The describe entry of this value."""
        return {
            "active": self.active,
            "defaultValue": self.default,
            "label": self.label,
            "validFor": None,
            "value": self.value,
        }


@dataclass(frozen=True)
class FieldDef:
    """One field of an object, with the properties describe reports and DML enforces."""

    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    required: bool = False
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    calculated: bool = False
    defaulted_on_create: bool = False
    default_value: Any = None
    picklist: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    name_field: bool = False
    id_lookup: bool = False

    @property
    def soap_type(self) -> str:
        """The SOAP type describe reports."""
        return _SOAP_TYPES.get(self.type, "xsd:string")

    @property
    def picklist_values(self) -> frozenset[str]:
        """Active picklist values."""
        return frozenset(p.value for p in self.picklist if p.active)

    def describe(self) -> dict[str, Any]:
        """The describe entry Salesforce returns for this field."""
        long_text = self.type == "textarea" and self.length > _LONG_TEXT
        filterable = self.type not in {"textarea", "multipicklist"} or not long_text
        is_text = self.type in STRING_TYPES
        return {
            "aggregatable": not long_text,
            "autoNumber": False,
            "byteLength": self.length * 3 if is_text else (18 if self.type in _ID_TYPES else 0),
            "calculated": self.calculated,
            "calculatedFormula": None,
            "cascadeDelete": False,
            "caseSensitive": self.case_sensitive,
            "compoundFieldName": None,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value if self.type == "boolean" else None,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": None,
            "filterable": filterable,
            "filteredLookupInfo": None,
            "groupable": filterable and self.type not in _UNGROUPABLE,
            "highScaleNumber": False,
            "htmlFormatted": False,
            "idLookup": self.id_lookup or self.type == "id" or self.external_id,
            "inlineHelpText": None,
            "label": self.label,
            "length": self.length,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": len(self.reference_to) > 1,
            "nillable": self.nillable,
            "permissionable": self.custom or (self.nillable and self.updateable),
            "picklistValues": [p.describe() for p in self.picklist],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedDelete": False,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": self.type == "reference",
            "soapType": self.soap_type,
            "sortable": filterable,
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }


@dataclass
class ObjectDef:
    """One sObject type: its fields and the object-level describe flags."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    soft_delete: bool = True
    mergeable: bool = False
    accepts_custom_fields: bool = True
    # Bumped by add() and remove(): caches of what depends on the field list compare it (fields
    # change only through those two).
    version: int = field(default=0, init=False, compare=False)
    _required: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _defaulted: tuple[FieldDef, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _relationships: dict[str, str] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def add(self, field_def: FieldDef) -> None:
        """Register a field (custom fields arrive this way at run time)."""
        self.fields[field_def.name] = field_def
        self.version += 1
        self._required = self._defaulted = None
        self._relationships = None

    def remove(self, name: str) -> FieldDef | None:
        """Drop a field (a custom field deleted in Setup); the removed definition, if any."""
        removed = self.fields.pop(name, None)
        if removed is not None:
            self.version += 1
            self._required = self._defaulted = None
            self._relationships = None
        return removed

    def relationship_field(self, relationship: str) -> str | None:
        """The reference field behind a relationship name (`Owner` -> `OwnerId`), any case."""
        if self._relationships is None:
            found: dict[str, str] = {}
            for f in self.fields.values():
                if f.relationship_name:
                    found.setdefault(f.relationship_name.lower(), f.name)
            self._relationships = found
        return self._relationships.get(relationship.lower())

    @property
    def required_fields(self) -> tuple[str, ...]:
        """Names of the required fields, in definition order."""
        if self._required is None:
            self._required = tuple(f.name for f in self.fields.values() if f.required)
        return self._required

    @property
    def defaulted_fields(self) -> tuple[FieldDef, ...]:
        """Fields a create may fill when the caller gives none: checkboxes, default picklist
        values and the owner."""
        if self._defaulted is None:
            self._defaulted = tuple(
                f
                for f in self.fields.values()
                if f.type == "boolean"
                or (f.defaulted_on_create and (bool(f.picklist) or f.name == "OwnerId"))
            )
        return self._defaulted

    def urls(self, api_version: str) -> dict[str, str]:
        """The `urls` block of describe and describe-global entries."""
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {
            "compactLayouts": f"{base}/describe/compactLayouts",
            "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts",
            "describe": f"{base}/describe",
            "quickActions": f"{base}/quickActions",
            "layouts": f"{base}/describe/layouts",
            "sobject": base,
        }

    def summary(self, api_version: str) -> dict[str, Any]:
        """The object-level describe keys, shared by describe and describe global."""
        return {
            "activateable": False,
            "createable": self.createable,
            "custom": False,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": self.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": self.mergeable,
            "mruEnabled": True,
            "name": self.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": self.soft_delete,
            "updateable": self.updateable,
            "urls": self.urls(api_version),
        }

    def describe(self, visible: list[FieldDef], api_version: str) -> dict[str, Any]:
        """The full describe body for the fields a caller may see."""
        body = self.summary(api_version)
        body.update(
            {
                "actionOverrides": [],
                "childRelationships": [],
                "compactLayoutable": True,
                "defaultImplementation": None,
                "extendedBy": None,
                "extendsInterfaces": None,
                "fields": [f.describe() for f in visible],
                "implementedBy": None,
                "implementsInterfaces": None,
                "listviewable": None,
                "lookupLayoutable": None,
                "namedLayoutInfos": [],
                "networkScopeFieldName": None,
                "recordTypeInfos": [],
                "searchLayoutable": True,
                "sobjectDescribeOption": "FULL",
                "supportedScopes": [{"label": "All records", "name": "everything"}],
            }
        )
        return body
