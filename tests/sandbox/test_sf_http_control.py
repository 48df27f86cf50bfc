"""Salesforce emulator over HTTPS: limits, faults, validation rejections, control endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    format_soql,
)

from tests.sandbox.sf_http_fixtures import SfHttp, caught, lead, running


@pytest.fixture(scope="module")
def sfh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfHttp]:
    with running(tmp_path_factory.mktemp("sf_control")) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _clean_rules(sfh: SfHttp) -> Iterator[None]:
    yield
    sfh.control("DELETE", "faults")
    sfh.control("DELETE", "reject")


def test_limit_header_api_usage_and_limits(sfh: SfHttp) -> None:
    sf = sfh.sf()
    sf.query("SELECT COUNT() FROM Lead")
    first = sf.api_usage["api-usage"]
    sf.query("SELECT COUNT() FROM Lead")
    assert sf.api_usage["api-usage"].used == first.used + 1
    assert first.total == 15000
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert limits["DailyApiRequests"]["Remaining"] == 15000 - sf.api_usage["api-usage"].used
    usage = sfh.control("GET", "limits")
    assert usage["used"] == sf.api_usage["api-usage"].used


def test_daily_limit_exhaustion(tmp_path: Path) -> None:
    with running(tmp_path, daily_api_max=3) as handle:
        sf = handle.sf()
        for _ in range(3):
            sf.query("SELECT COUNT() FROM Lead")
        error = caught(lambda: sf.query("SELECT COUNT() FROM Lead"))
        assert isinstance(error, SalesforceRefusedRequest)
        assert error.status == 403
        assert error.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        assert error.content[0]["message"] == "TotalRequests Limit exceeded."
        handle.control("POST", "limits", {"used": 0})
        assert sf.query("SELECT COUNT() FROM Lead")["done"] is True


def test_injected_503_burst_is_sf_shaped(sfh: SfHttp) -> None:
    sf = sfh.sf()
    sfh.control("POST", "faults", {"status": 503, "path_contains": "/query", "remaining": 2})
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as info:
            sf.query("SELECT COUNT() FROM Lead")
        assert info.value.status == 503
        assert info.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT COUNT() FROM Lead")["done"] is True


def test_injected_403_rate_limit(sfh: SfHttp) -> None:
    sfh.control("POST", "faults", {"status": 403, "remaining": 1})
    with pytest.raises(SalesforceRefusedRequest) as info:
        sfh.sf().Lead.describe()
    assert info.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_control_endpoints_are_not_counted_nor_faulted(sfh: SfHttp) -> None:
    sfh.control("DELETE", "calls")
    sfh.control("POST", "faults", {"status": 500})
    assert sfh.control("GET", "calls")["total"] == 0
    sfh.control("DELETE", "faults")
    sf = sfh.sf()
    sf.query("SELECT COUNT() FROM Lead")
    sf.Lead.describe()
    calls = sfh.control("GET", "calls")
    assert calls["total"] == 2
    assert calls["calls"]["GET /services/data/v60.0/sobjects/Lead/describe"] == 1


def test_reject_rule_validation_error(sfh: SfHttp) -> None:
    sfh.control(
        "POST",
        "reject",
        {"object": "Lead", "field": "Company", "value": "Blocked Inc", "message": "No blocked"},
    )
    sf = sfh.sf()
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.create(lead(Company="Blocked Inc"))
    assert info.value.content[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert info.value.content[0]["message"] == "No blocked"
    ok = sf.Lead.create(lead())["id"]
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.update(ok, {"Company": "blocked inc"})


def test_unable_to_lock_row_per_record_on_collections(sfh: SfHttp) -> None:
    sfh.control(
        "POST",
        "reject",
        {
            "object": "Lead",
            "error_code": "UNABLE_TO_LOCK_ROW",
            "message": "unable to obtain exclusive access to this record",
            "remaining": 1,
        },
    )
    records = [{"attributes": {"type": "Lead"}, **lead()} for _ in range(3)]
    results = sfh.sf().restful("composite/sobjects", method="POST", json={"records": records})
    assert [r["success"] for r in results] == [False, True, True]
    assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"


def test_seed_and_sales_actions(sfh: SfHttp) -> None:
    seeded = sfh.control("POST", "seed", {"leads": 20, "seed": 7, "ja_share": 0.5})
    assert seeded["lead_count"] == 20
    sf = sfh.sf()
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Lead ORDER BY CreatedDate LIMIT 3")["records"]]
    converted = sfh.control(
        "POST", "actions/convert", {"lead_id": ids[0], "create_opportunity": True}
    )
    row = sf.query(
        format_soql(
            "SELECT IsConverted, ConvertedOpportunityId, LastModifiedById FROM Lead WHERE Id = {}",
            ids[0],
        )
    )["records"][0]
    assert row["IsConverted"] is True
    assert row["ConvertedOpportunityId"] == converted["opportunity_id"]
    # Sales actions are made by a salesperson, not by the integration user.
    assert row["LastModifiedById"] != sfh.emulator.org.integration_user_id
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Lead.update(ids[0], {"Title": "x"})
    assert info.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    sfh.control(
        "POST",
        "actions/close_opportunity",
        {"opportunity_id": converted["opportunity_id"], "won": True},
    )
    assert sf.Opportunity.get(converted["opportunity_id"])["IsWon"] is True
    task = sfh.control("POST", "actions/first_contact", {"lead_id": ids[1], "subject": "Call"})
    assert sf.Task.get(task["task_id"])["WhoId"] == ids[1]
    sfh.control(
        "POST", "actions/edit", {"object": "Lead", "id": ids[1], "field": "Title", "value": "CEO"}
    )
    assert sf.Lead.get(ids[1])["Title"] == "CEO"
    sfh.control("POST", "actions/merge", {"master_id": ids[1], "loser_id": ids[2]})
    loser = sf.query_all(
        format_soql("SELECT IsDeleted, MasterRecordId FROM Lead WHERE Id = {}", ids[2]),
        include_deleted=True,
    )["records"][0]
    assert loser["IsDeleted"] is True
    assert loser["MasterRecordId"] == ids[1]


def test_bad_control_request_is_400(sfh: SfHttp) -> None:
    response = sfh.session().post(
        sfh.url("/__sandbox__/salesforce/faults"), json={"nonsense": True}
    )
    assert response.status_code == 400
    assert "unknown fault keys" in response.json()["error"]
