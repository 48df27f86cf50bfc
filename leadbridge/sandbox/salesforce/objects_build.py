"""Building blocks of standard object definitions: field shorthands and system fields."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from leadbridge.sandbox.salesforce.ids import KEY_PREFIXES
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef, PicklistValue


def pick(values: tuple[str, ...], default: str | None = None) -> tuple[PicklistValue, ...]:
    """Picklist entries whose label is the value, with an optional default."""
    return tuple(PicklistValue(value=v, label=v, default=v == default) for v in values)


def text(name: str, label: str, length: int, **kw: Any) -> FieldDef:
    """A length-bound field, a string unless ``type`` says otherwise."""
    return FieldDef(name=name, type=kw.pop("type", "string"), label=label, length=length, **kw)


def ref(name: str, label: str, to: tuple[str, ...], rel: str, **kw: Any) -> FieldDef:
    """A lookup field to the given objects under a relationship name."""
    return FieldDef(
        name=name,
        type="reference",
        label=label,
        length=18,
        reference_to=to,
        relationship_name=rel,
        **kw,
    )


def flag(name: str, label: str, default: bool = False, **kw: Any) -> FieldDef:
    """A checkbox: never null, defaulted on create."""
    return FieldDef(
        name=name,
        type="boolean",
        label=label,
        nillable=False,
        defaulted_on_create=True,
        default_value=default,
        **kw,
    )


def readonly(f: FieldDef) -> FieldDef:
    """The field made neither createable nor updateable (server-maintained)."""
    return replace(f, createable=False, updateable=False)


def _system_fields(soft_delete: bool) -> list[FieldDef]:
    fields = [
        FieldDef(
            name="Id",
            type="id",
            label="Record ID",
            length=18,
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
            id_lookup=True,
        ),
    ]
    if soft_delete:
        fields.append(readonly(flag("IsDeleted", "Deleted")))
    fields += [
        FieldDef(
            name="CreatedDate",
            type="datetime",
            label="Created Date",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        readonly(
            ref(
                "CreatedById",
                "Created By ID",
                ("User",),
                "CreatedBy",
                nillable=False,
                defaulted_on_create=True,
            )
        ),
        FieldDef(
            name="LastModifiedDate",
            type="datetime",
            label="Last Modified Date",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
        readonly(
            ref(
                "LastModifiedById",
                "Last Modified By ID",
                ("User",),
                "LastModifiedBy",
                nillable=False,
                defaulted_on_create=True,
            )
        ),
        FieldDef(
            name="SystemModstamp",
            type="datetime",
            label="System Modstamp",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
        ),
    ]
    return fields


def define_object(
    name: str, label: str, plural: str, fields: list[FieldDef], **kw: Any
) -> ObjectDef:
    """An object with its key prefix, system fields first, then the given fields."""
    obj = ObjectDef(
        name=name, label=label, label_plural=plural, key_prefix=KEY_PREFIXES[name], **kw
    )
    for f in _system_fields(obj.soft_delete) + fields:
        obj.add(f)
    return obj


def owner(targets: tuple[str, ...] = ("Group", "User")) -> FieldDef:
    """The required OwnerId lookup, defaulted to the creating user."""
    return ref("OwnerId", "Owner ID", targets, "Owner", nillable=False, defaulted_on_create=True)
