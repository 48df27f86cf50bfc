"""HubSpot static lists: how leadbridge enrols contacts in nurturing sequences.

HubSpot workflows pick up list members, so enrolment is "add the contact to the list the
nurturing workflow listens to". Lists are found by name (created on first use when asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from leadbridge.errors import DataError, LeadbridgeError

if TYPE_CHECKING:
    from leadbridge.connectors.hubspot.client import HubSpotClient

CONTACT_TYPE_ID = "0-1"
# Ids per membership call: well under HubSpot's limits, and a small request on retry.
MEMBERS_PER_CALL = 1000


class HubSpotLists:
    """Find or create static contact lists, add and remove members (through the client)."""

    def __init__(self, *, client: HubSpotClient) -> None:
        self.client = client
        self._lists_api: Any = None
        self._members_api: Any = None
        self._ids: dict[str, str] = {}

    def _apis(self) -> tuple[Any, Any]:
        if self._lists_api is None:
            lists = self.client.sdk.crm.lists
            self._lists_api, self._members_api = lists.lists_api, lists.memberships_api
        return self._lists_api, self._members_api

    def list_id(self, name: str, *, create: bool = False) -> str | None:
        """The id of the contact list with this name (created when asked and missing)."""
        if name in self._ids:
            return self._ids[name]
        lists_api, _ = self._apis()
        timeout = self.client.timeout
        try:
            found = self.client.call(
                f"list {name}",
                lambda: lists_api.get_by_name_with_http_info(
                    list_name=name,
                    object_type_id=CONTACT_TYPE_ID,
                    _request_timeout=timeout,
                    _preload_content=False,
                ),
                idempotent=True,
            )
        except LeadbridgeError as error:
            # Not found: HubSpot answers 404 (category OBJECT_NOT_FOUND, or none).
            absent = error.code in ("OBJECT_NOT_FOUND", "404") or "exist" in error.message.lower()
            if not (isinstance(error, DataError) and absent):
                raise
            found = None
        if found is None:
            if not create:
                return None
            body = {"name": name, "objectTypeId": CONTACT_TYPE_ID, "processingType": "MANUAL"}
            found = self.client.call(
                f"create list {name}",
                lambda: lists_api.create_with_http_info(
                    list_create_request=body, _request_timeout=timeout, _preload_content=False
                ),
                idempotent=False,
            )
        list_id = str(found["list"]["listId"])
        self._ids[name] = list_id
        return list_id

    def add(self, list_id: str, record_ids: Sequence[str]) -> list[str]:
        """Add contacts to a list; return the ids HubSpot did not find."""
        return self._change("add_with_http_info", list_id, record_ids)

    def remove(self, list_id: str, record_ids: Sequence[str]) -> list[str]:
        """Remove contacts from a list; return the ids that were not members."""
        return self._change("remove_with_http_info", list_id, record_ids)

    def _change(self, method: str, list_id: str, record_ids: Sequence[str]) -> list[str]:
        _, members_api = self._apis()
        call = getattr(members_api, method)
        missing: list[str] = []
        timeout = self.client.timeout
        for start in range(0, len(record_ids), MEMBERS_PER_CALL):
            chunk = [str(i) for i in record_ids[start : start + MEMBERS_PER_CALL]]
            answer = self.client.call(
                f"list {list_id} {method.split('_')[0]}",
                partial(
                    call,
                    list_id=list_id,
                    request_body=chunk,
                    _request_timeout=timeout,
                    _preload_content=False,
                ),
                # Adding or removing the same ids twice leaves the list the same.
                idempotent=True,
            )
            missing += [str(i) for i in (answer or {}).get("recordIdsMissing") or []]
        return missing
