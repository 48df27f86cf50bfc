"""Each user's view of each object under field-level security, built once per FLS or schema change.

A view is rebuilt only when the object's field list changed (`ObjectDef.version`, bumped by a new
custom field) or a FieldPermissions, PermissionSet or PermissionSetAssignment row was written
(`FieldSecurity.version`, bumped by the store's write listener, rollbacks included). Nothing
expires with time: a grant, a revocation or a new field shows on the very next call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef
from leadbridge.sandbox.salesforce.tooling import FieldSecurity


@dataclass(frozen=True)
class FieldView:
    """The fields one user can see on one object (read-only, shared between calls)."""

    object_name: str
    fields: Mapping[str, FieldDef]
    # Lower-cased name -> canonical name; the first in definition order wins, as a scan would.
    by_lower: Mapping[str, str]
    types: Mapping[str, str]
    # Visible fields the user's FLS lets them edit (the field's own flags are checked apart).
    editable: frozenset[str]

    def lookup(self, name: str) -> str | None:
        """The canonical name of a visible field, matched case-insensitively, or None."""
        return self.by_lower.get(name.lower())


def build_view(obj: ObjectDef, user_id: str, security: FieldSecurity) -> FieldView:
    """Compute a view from the object definition and the user's grants."""
    fields = {n: f for n, f in obj.fields.items() if security.can_read(user_id, obj.name, f)}
    by_lower: dict[str, str] = {}
    for name in fields:
        by_lower.setdefault(name.lower(), name)
    editable = frozenset(n for n, f in fields.items() if security.can_edit(user_id, obj.name, f))
    return FieldView(
        object_name=obj.name,
        fields=MappingProxyType(fields),
        by_lower=MappingProxyType(by_lower),
        types=MappingProxyType({n: f.type for n, f in fields.items()}),
        editable=editable,
    )


class VisibilityCache:
    """Field views by (object, user), each kept with the versions it was built from."""

    def __init__(self, security: FieldSecurity) -> None:
        self._security = security
        self._views: dict[tuple[str, str], _Entry] = {}

    def view(self, obj: ObjectDef, user_id: str) -> FieldView:
        """The user's current view of the object."""
        key = (obj.name, user_id)
        # Read the versions before building: a change made meanwhile leaves the entry stale.
        schema_version, security_version = obj.version, self._security.version
        cached = self._views.get(key)
        if (
            cached is not None
            and cached.obj is obj
            and cached.schema_version == schema_version
            and cached.security_version == security_version
        ):
            return cached.view
        view = build_view(obj, user_id, self._security)
        self._views[key] = _Entry(obj, schema_version, security_version, view)
        return view


@dataclass(frozen=True)
class _Entry:
    obj: ObjectDef
    schema_version: int
    security_version: int
    view: FieldView
