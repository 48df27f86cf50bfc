"""Queues: QueueSobject rows (which objects a queue may own) and the owner rule they enforce.

A queue is a Group whose Type is 'Queue'; its QueueSobject rows (QueueId, SobjectType) list the
objects it supports (Object Reference, "QueueSobject": create, delete, query, retrieve; no
update). Setting a record's OwnerId to a Group is accepted only when that Group is a queue with
a QueueSobject row for the record's object. Otherwise Salesforce refuses the record with
INVALID_CROSS_REFERENCE_KEY "invalid cross reference id" and no field list: reported for a Lead
update whose OwnerId was a role Group of a public group ("first error: INVALID_CROSS_REFERENCE_KEY,
invalid cross reference id: []", mshanemc/roundRobinProcessBuilder issue #3). The same code for a
queue that lacks the object is the commonly reported behaviour but no source at hand quotes it
(unconfirmed): callers check QueueSobject first instead of relying on the error text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from leadbridge.sandbox.salesforce.errors import SalesforceError, bad_request
from leadbridge.sandbox.salesforce.ids import KEY_PREFIXES
from leadbridge.sandbox.salesforce.schema import FieldDef, ObjectDef, PicklistValue
from leadbridge.sandbox.salesforce.store import RecordStore

if TYPE_CHECKING:
    from leadbridge.sandbox.salesforce.org import Org

# What Setup > Queues offers as Supported Objects in this org (a restricted picklist): Account,
# Contact and Opportunity are never queue-owned, so they are not values.
QUEUE_SOBJECT_TYPES = ("Case", "Lead", "Task")


def queue_sobject() -> ObjectDef:
    """The QueueSobject object: Id, QueueId, SobjectType, CreatedById and SystemModstamp only."""
    obj = ObjectDef(
        name="QueueSobject",
        label="Queue sObject",
        label_plural="Queue sObjects",
        key_prefix=KEY_PREFIXES["QueueSobject"],
        updateable=False,
        soft_delete=False,
        accepts_custom_fields=False,
    )
    for f in (
        FieldDef(
            name="Id",
            type="id",
            label="Queue sObject ID",
            length=18,
            createable=False,
            nillable=False,
            defaulted_on_create=True,
            id_lookup=True,
            updateable=False,
        ),
        FieldDef(
            name="QueueId",
            type="reference",
            label="Group ID",
            length=18,
            nillable=False,
            required=True,
            reference_to=("Group",),
            relationship_name="Queue",
            updateable=False,
        ),
        FieldDef(
            name="SobjectType",
            type="picklist",
            label="sObject Type",
            length=40,
            nillable=False,
            required=True,
            restricted_picklist=True,
            picklist=tuple(PicklistValue(value=v, label=v) for v in QUEUE_SOBJECT_TYPES),
            updateable=False,
        ),
        FieldDef(
            name="CreatedById",
            type="reference",
            label="Created By ID",
            length=18,
            createable=False,
            nillable=False,
            defaulted_on_create=True,
            reference_to=("User",),
            relationship_name="CreatedBy",
            updateable=False,
        ),
        FieldDef(
            name="SystemModstamp",
            type="datetime",
            label="System Modstamp",
            createable=False,
            nillable=False,
            defaulted_on_create=True,
            updateable=False,
        ),
    ):
        obj.add(f)
    return obj


def supported_objects(store: RecordStore, queue_id: str) -> set[str]:
    """The objects a queue supports, from its QueueSobject rows."""
    return {
        str(row.get("SobjectType"))
        for row in store.records["QueueSobject"].values()
        if row.get("QueueId") == queue_id
    }


def check_owner(store: RecordStore, object_name: str, group: Mapping[str, Any]) -> None:
    """Refuse a Group as the owner of an `object_name` record unless it is a queue for it."""
    if group.get("Type") != "Queue" or object_name not in supported_objects(store, group["Id"]):
        raise _invalid_owner()


def check_queue_row(store: RecordStore, record: Mapping[str, Any], record_id: str) -> None:
    """A QueueSobject row names a queue (not another Group type), once per object.

    The codes of these two refusals are unconfirmed; the duplicate one follows DUPLICATE_VALUE.
    """
    group = store.get("Group", str(record.get("QueueId")))
    if group is None or group.get("Type") != "Queue":
        raise _invalid_owner()
    for other_id, other in store.records["QueueSobject"].items():
        if (
            other_id != record_id
            and other.get("QueueId") == record.get("QueueId")
            and other.get("SobjectType") == record.get("SobjectType")
        ):
            raise SalesforceError(
                status=400,
                error_code="DUPLICATE_VALUE",
                message=f"duplicate value found: SobjectType duplicates value on record with "
                f"id: {other_id}",
            )


def ensure_supported(
    org: Org, queue_ids: Iterable[str], sobject_type: str, *, user_id: str
) -> list[str]:
    """Give each queue a QueueSobject row for the object unless it has one; the new row ids."""
    created = []
    for queue_id in queue_ids:
        if sobject_type not in supported_objects(org.store, queue_id):
            row = {"QueueId": queue_id, "SobjectType": sobject_type}
            created.append(org.create("QueueSobject", row, user_id=user_id))
    return created


def _invalid_owner() -> SalesforceError:
    return bad_request("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
