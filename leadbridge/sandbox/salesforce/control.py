"""Sandbox control endpoints under /__sandbox__/salesforce/: seed, sales actions, faults, logs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from leadbridge.sandbox import seed as seeding
from leadbridge.sandbox.faults import CallLog, FaultInjector
from leadbridge.sandbox.faults import rule_from_json as fault_from_json
from leadbridge.sandbox.salesforce import actions
from leadbridge.sandbox.salesforce.auth import AuthService
from leadbridge.sandbox.salesforce.errors import SalesforceError
from leadbridge.sandbox.salesforce.org import Org
from leadbridge.sandbox.salesforce.rejections import RejectRules
from leadbridge.sandbox.salesforce.rejections import rule_from_json as reject_from_json

CONTROL_ROOT = "/__sandbox__/salesforce"
_SALES_USERNAME = "sales.rep@leadbridge.sandbox"

ControlHandler = Callable[[dict[str, Any]], Any]


class ControlError(ValueError):
    """A malformed control request (HTTP 400 with {"error": message})."""


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{key} is required")
    return value


class ControlRoutes:
    """Test and demo hooks; never counted, faulted or authenticated."""

    def __init__(
        self,
        *,
        org: Org,
        faults: FaultInjector,
        calls: CallLog,
        auth: AuthService,
        rejections: RejectRules,
        default_seed: int,
    ) -> None:
        self.org = org
        self.faults = faults
        self.calls = calls
        self.auth = auth
        self.rejections = rejections
        self.default_seed = default_seed
        self._table: dict[tuple[str, str], ControlHandler] = {
            ("POST", "seed"): self.seed,
            ("POST", "actions/convert"): self.convert,
            ("POST", "actions/merge"): self.merge,
            ("POST", "actions/first_contact"): self.first_contact,
            ("POST", "actions/close_opportunity"): self.close_opportunity,
            ("POST", "actions/edit"): self.edit,
            ("POST", "faults"): self.add_fault,
            ("DELETE", "faults"): self.clear_faults,
            ("POST", "reject"): self.add_reject,
            ("DELETE", "reject"): self.clear_rejects,
            ("GET", "calls"): self.get_calls,
            ("DELETE", "calls"): self.reset_calls,
            ("POST", "expire_tokens"): self.expire_tokens,
            ("GET", "limits"): self.get_limits,
            ("POST", "limits"): self.set_limits,
        }

    def handle(self, method: str, path: str, body: bytes) -> Response:
        """Dispatch one control request; errors are 400 {"error"} or the Salesforce error."""
        name = path[len(CONTROL_ROOT) :].strip("/")
        handler = self._table.get((method, name))
        if handler is None:
            return JSONResponse({"error": f"no control endpoint {method} {name}"}, status_code=404)
        try:
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ControlError("the body must be a JSON object")
            return JSONResponse(handler(data))
        except (ControlError, ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except SalesforceError as err:
            return JSONResponse(err.body(), status_code=err.status)

    # ---- data and actions ---------------------------------------------------------------------

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Generate and load leads, users and queues (users already present are reused)."""
        data = seeding.generate(
            seed=int(body.get("seed", self.default_seed)),
            leads=int(body.get("leads", 1000)),
            ja_share=float(body.get("ja_share", 0.5)),
        )
        existing = {str(u.get("Username", "")).lower() for u in self.org.iter_records("User")}
        fresh = [u for u in data.users if u.username.lower() not in existing]
        seeded = seeding.load_into_org(self.org, data, users=fresh)
        return {
            "lead_count": len(seeded.lead_ids),
            "user_ids": seeded.user_ids,
            "queue_ids": seeded.queue_ids,
        }

    def _actor(self, body: dict[str, Any], owner: Any = None) -> str:
        """Sales actions run as a salesperson, so the sync sees them as non-integration edits."""
        given = body.get("user_id")
        if isinstance(given, str) and given:
            return given
        integration = self.org.integration_user_id
        if isinstance(owner, str) and owner.startswith("005") and owner != integration:
            return owner
        for user in self.org.iter_records("User"):
            if user["Id"] != integration:
                return str(user["Id"])
        return self.org.create(
            "User",
            {
                "Username": _SALES_USERNAME,
                "LastName": "Rep",
                "FirstName": "Sales",
                "Email": _SALES_USERNAME,
                "Alias": "srep",
            },
            user_id=integration,
        )

    def _lead_owner(self, lead_id: str) -> Any:
        rec = self.org.get("Lead", lead_id)
        return None if rec is None else rec.get("OwnerId")

    def convert(self, body: dict[str, Any]) -> dict[str, Any]:
        """Convert a lead (Account, Contact, optional Opportunity)."""
        lead_id = _text(body, "lead_id")
        result = actions.convert_lead(
            self.org,
            lead_id,
            user_id=self._actor(body, self._lead_owner(lead_id)),
            create_opportunity=bool(body.get("create_opportunity", True)),
        )
        return dataclasses.asdict(result)

    def merge(self, body: dict[str, Any]) -> dict[str, Any]:
        """Merge a loser lead into a master lead."""
        master = _text(body, "master_id")
        actions.merge_leads(
            self.org,
            master,
            _text(body, "loser_id"),
            user_id=self._actor(body, self._lead_owner(master)),
        )
        return {"master_id": master, "loser_id": body["loser_id"]}

    def first_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        """Log a salesperson's first contact (a Task) on a lead."""
        lead_id = _text(body, "lead_id")
        task_id = actions.log_first_contact(
            self.org,
            lead_id,
            user_id=self._actor(body, self._lead_owner(lead_id)),
            subject=str(body.get("subject") or "Call"),
        )
        return {"task_id": task_id}

    def close_opportunity(self, body: dict[str, Any]) -> dict[str, Any]:
        """Close an opportunity won or lost."""
        opportunity_id = _text(body, "opportunity_id")
        actions.close_opportunity(
            self.org, opportunity_id, won=bool(body.get("won", True)), user_id=self._actor(body)
        )
        return {"opportunity_id": opportunity_id}

    def edit(self, body: dict[str, Any]) -> dict[str, Any]:
        """Edit one field as a salesperson in the UI would."""
        object_name, record_id = _text(body, "object"), _text(body, "id")
        actions.edit_field(
            self.org,
            object_name,
            record_id,
            field=_text(body, "field"),
            value=body.get("value"),
            user_id=self._actor(body),
        )
        return {"id": record_id}

    # ---- faults, rejections, calls, tokens, limits --------------------------------------------

    def add_fault(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a fault rule (see leadbridge.sandbox.faults.FaultRule)."""
        self.faults.add(fault_from_json(body))
        return {"rules": len(self.faults.rules())}

    def clear_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        """Remove every fault rule."""
        self.faults.clear()
        return {"rules": 0}

    def add_reject(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a validation-rule emulation (see RejectRule)."""
        self.rejections.add(reject_from_json(body))
        return {"rules": self.rejections.count()}

    def clear_rejects(self, body: dict[str, Any]) -> dict[str, Any]:
        """Remove every reject rule."""
        self.rejections.clear()
        return {"rules": 0}

    def get_calls(self, body: dict[str, Any]) -> dict[str, Any]:
        """API calls per endpoint so far, and their total."""
        return {"calls": self.calls.snapshot(), "total": self.calls.total()}

    def reset_calls(self, body: dict[str, Any]) -> dict[str, Any]:
        """Start counting calls from zero."""
        self.calls.reset()
        return {"total": 0}

    def expire_tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        """Invalidate every access token issued so far."""
        self.auth.expire_all()
        return {"expired": True}

    def get_limits(self, body: dict[str, Any]) -> dict[str, Any]:
        """Daily API usage and the /limits body."""
        counter = self.org.limits.daily_api_requests
        return {"used": counter.used, "max": counter.max, "limits": self.org.limits.body()}

    def set_limits(self, body: dict[str, Any]) -> dict[str, Any]:
        """Set the daily request allocation (`max`) and/or what is used of it (`used`)."""
        counter = self.org.limits.daily_api_requests
        self.org.limits.body()  # roll the day first so `used` is not reset right after
        if "max" in body:
            counter.max = int(body["max"])
        if "used" in body:
            counter.used = int(body["used"])
        return self.get_limits({})
