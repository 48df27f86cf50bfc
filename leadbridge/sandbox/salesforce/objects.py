"""Registry of the standard objects the emulated org serves (definitions live by family)."""

from __future__ import annotations

from leadbridge.sandbox.salesforce.objects_access import (
    field_permissions,
    group,
    permission_set,
    permission_set_assignment,
    user,
)
from leadbridge.sandbox.salesforce.objects_crm import account, contact, lead
from leadbridge.sandbox.salesforce.objects_pipeline import opportunity, task
from leadbridge.sandbox.salesforce.picklists import (
    CONVERTED_STATUS,
    INDUSTRIES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    OPPORTUNITY_STAGES,
    TASK_STATUSES,
)
from leadbridge.sandbox.salesforce.queues import queue_sobject
from leadbridge.sandbox.salesforce.schema import ObjectDef

# The picklist values are imported from here by rules, actions and seeding; they live in picklists.
__all__ = [
    "CONVERTED_STATUS",
    "INDUSTRIES",
    "LEAD_SOURCES",
    "LEAD_STATUSES",
    "OPPORTUNITY_STAGES",
    "TASK_STATUSES",
    "standard_objects",
]


def standard_objects() -> dict[str, ObjectDef]:
    """Fresh definitions of every standard object the emulator serves."""
    objects = [
        lead(),
        contact(),
        account(),
        opportunity(),
        task(),
        user(),
        group(),
        queue_sobject(),
        permission_set(),
        permission_set_assignment(),
        field_permissions(),
    ]
    return {o.name: o for o in objects}
