"""User, Group and the permission objects: who acts in the org and which fields they may see."""

from __future__ import annotations

from leadbridge.sandbox.salesforce.objects_build import (
    define_object,
    flag,
    pick,
    readonly,
    ref,
    text,
)
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef


def user() -> ObjectDef:
    """The User object (users cannot be deleted, only deactivated)."""
    return define_object(
        "User",
        "User",
        "Users",
        [
            text(
                "Username",
                "Username",
                80,
                nillable=False,
                required=True,
                unique=True,
                id_lookup=True,
            ),
            text("FirstName", "First Name", 40),
            text("LastName", "Last Name", 80, nillable=False, required=True),
            readonly(text("Name", "Full Name", 121, nillable=False, name_field=True)),
            text("Email", "Email", 128, type="email", nillable=False, required=True),
            text("Alias", "Alias", 8, nillable=False, required=True),
            text("Title", "Title", 80),
            text("Department", "Department", 80),
            flag("IsActive", "Active", default=True),
            FieldDef(
                name="LanguageLocaleKey",
                type="picklist",
                label="Language",
                length=40,
                picklist=pick(("en_US", "ja")),
            ),
            FieldDef(
                name="TimeZoneSidKey",
                type="picklist",
                label="Time Zone",
                length=40,
                picklist=pick(("America/Los_Angeles", "Asia/Tokyo", "GMT")),
            ),
        ],
        deletable=False,
        soft_delete=False,
        accepts_custom_fields=False,
    )


def group() -> ObjectDef:
    """The Group object; queues are groups with Type 'Queue'."""
    return define_object(
        "Group",
        "Group",
        "Groups",
        [
            text("Name", "Name", 40, nillable=False, required=True, name_field=True),
            text("DeveloperName", "Developer Name", 80),
            FieldDef(
                name="Type",
                type="picklist",
                label="Type",
                length=40,
                nillable=False,
                required=True,
                restricted_picklist=True,
                picklist=pick(("Regular", "Queue", "Role", "Organization")),
            ),
            text("Email", "Email", 255, type="email"),
            flag("DoesSendEmailToMembers", "Send Email to Members"),
            ref("OwnerId", "Owner ID", ("User",), "Owner", defaulted_on_create=True),
        ],
        soft_delete=False,
        accepts_custom_fields=False,
    )


def permission_set() -> ObjectDef:
    """The PermissionSet object."""
    return define_object(
        "PermissionSet",
        "Permission Set",
        "Permission Sets",
        [
            text("Name", "Name", 80, nillable=False, required=True, unique=True),
            text("Label", "Label", 80, nillable=False, required=True),
            text("Description", "Description", 255),
            readonly(flag("IsOwnedByProfile", "Is Owned By Profile")),
        ],
        soft_delete=False,
        accepts_custom_fields=False,
    )


def permission_set_assignment() -> ObjectDef:
    """The PermissionSetAssignment object (assignee and set are fixed once created)."""
    return define_object(
        "PermissionSetAssignment",
        "Permission Set Assignment",
        "Permission Set Assignments",
        [
            ref(
                "AssigneeId",
                "Assignee ID",
                ("User",),
                "Assignee",
                nillable=False,
                required=True,
                updateable=False,
            ),
            ref(
                "PermissionSetId",
                "Permission Set ID",
                ("PermissionSet",),
                "PermissionSet",
                nillable=False,
                required=True,
                updateable=False,
            ),
        ],
        soft_delete=False,
        updateable=False,
        accepts_custom_fields=False,
    )


def field_permissions() -> ObjectDef:
    """The FieldPermissions object: field-level security rows of a permission set."""
    return define_object(
        "FieldPermissions",
        "Field Permissions",
        "Field Permissions",
        [
            ref(
                "ParentId",
                "Parent ID",
                ("PermissionSet",),
                "Parent",
                nillable=False,
                required=True,
                updateable=False,
            ),
            text(
                "SobjectType",
                "Sobject Type Name",
                40,
                nillable=False,
                required=True,
                updateable=False,
            ),
            text("Field", "Field Name", 100, nillable=False, required=True, updateable=False),
            flag("PermissionsRead", "Read Access"),
            flag("PermissionsEdit", "Edit Access"),
        ],
        soft_delete=False,
        accepts_custom_fields=False,
    )
