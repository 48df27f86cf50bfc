"""Salesforce emulator over HTTPS: SOQL paging, cursors, errors, relationships, FLS, Tooling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce import SalesforceMalformedRequest, format_soql

from leadbridge.sandbox.salesforce.org import Org
from tests.sandbox.sf_helpers import StepClock
from tests.sandbox.sf_http_fixtures import API_VERSION, SfHttp, lead, running

LEADS = 5000


@pytest.fixture(scope="module")
def sfh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfHttp]:
    with running(tmp_path_factory.mktemp("sf_query")) as handle:
        handle.emulator.org.bulk_load(
            "Lead", [lead(Email=f"p{i}@paging.example", Title="Paging") for i in range(LEADS)]
        )
        yield handle


def test_paging_5000_leads_in_three_pages(sfh: SfHttp) -> None:
    sf = sfh.sf()
    first = sf.query("SELECT Id, Email FROM Lead WHERE Title = 'Paging'")
    assert first["totalSize"] == LEADS
    assert first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{API_VERSION}/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    pages = [first]
    while not pages[-1]["done"]:
        pages.append(sf.query_more(pages[-1]["nextRecordsUrl"], identifier_is_url=True))
    assert [len(p["records"]) for p in pages] == [2000, 2000, 1000]
    assert "nextRecordsUrl" not in pages[-1]
    ids = {r["Id"] for p in pages for r in p["records"]}
    assert len(ids) == LEADS


def test_query_all_and_iter(sfh: SfHttp) -> None:
    sf = sfh.sf()
    result = sf.query_all("SELECT Id FROM Lead WHERE Title = 'Paging'")
    assert result["totalSize"] == LEADS
    assert (
        len({r["Id"] for r in sf.query_all_iter("SELECT Id FROM Lead WHERE Title = 'Paging'")})
        == LEADS
    )


def test_batch_size_header_and_extra_params(sfh: SfHttp) -> None:
    session = sfh.session()
    token = sfh.emulator.issue_access_token()
    headers = {"Authorization": f"Bearer {token}", "Sforce-Query-Options": "batchSize=500"}
    base = sfh.url(f"/services/data/v{API_VERSION}/query")  # no trailing slash
    first = session.get(base, params={"q": "SELECT Id FROM Lead"}, headers=headers).json()
    assert len(first["records"]) == 500
    assert first["nextRecordsUrl"].endswith("-500")
    nxt = session.get(sfh.url(first["nextRecordsUrl"]) + "?foo=bar", headers=headers)
    assert nxt.status_code == 200
    assert len(nxt.json()["records"]) == 500
    tiny = session.get(
        base,
        params={"q": "SELECT Id FROM Lead"},
        headers={**headers, "Sforce-Query-Options": "batchSize=10"},
    ).json()
    assert len(tiny["records"]) == 200


def test_count_query(sfh: SfHttp) -> None:
    result = sfh.sf().query("SELECT COUNT() FROM Lead WHERE Title = 'Paging'")
    assert result == {"totalSize": LEADS, "done": True, "records": []}


def test_record_shape_and_relationship(sfh: SfHttp) -> None:
    sf = sfh.sf()
    created = sf.Lead.create(lead(Email="shape@example.com"))
    record = sf.query(
        format_soql(
            "SELECT Id, Email, CreatedDate, IsConverted, Owner.Name, Owner.Email "
            "FROM Lead WHERE Id = {}",
            created["id"],
        )
    )["records"][0]
    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v{API_VERSION}/sobjects/Lead/{created['id']}",
    }
    assert list(record)[:5] == ["attributes", "Id", "Email", "CreatedDate", "IsConverted"]
    assert record["CreatedDate"].endswith("+0000")
    assert record["IsConverted"] is False
    assert record["Owner"]["attributes"]["type"] == "User"
    assert record["Owner"]["Name"] == "LeadBridge Integration"
    assert "Email" in record["Owner"]
    # A null reference serialises as a null relationship.
    converted = sf.query(
        format_soql("SELECT Id, ConvertedAccount.Name FROM Lead WHERE Id = {}", created["id"])
    )["records"][0]
    assert converted["ConvertedAccount"] is None


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id, Nope__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT FROM Lead", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD"),
    ],
)
def test_query_errors_are_400_arrays(sfh: SfHttp, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sfh.sf().query(soql)
    assert info.value.status == 400
    assert isinstance(info.value.content, list)
    assert info.value.content[0]["errorCode"] == code
    assert set(info.value.content[0]) >= {"message", "errorCode"}


def test_no_such_column_message(sfh: SfHttp) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sfh.sf().query("SELECT Id, Nope__c FROM Lead")
    assert "No such column 'Nope__c' on entity 'Lead'" in info.value.content[0]["message"]


def test_query_all_includes_deleted(sfh: SfHttp) -> None:
    sf = sfh.sf()
    doomed = sf.Lead.create(lead(Email="doomed@example.com"))["id"]
    sf.Lead.delete(doomed)
    soql = format_soql("SELECT Id, IsDeleted FROM Lead WHERE Id = {}", doomed)
    assert sf.query(soql)["totalSize"] == 0
    rows = sf.query(soql, include_deleted=True)["records"]
    assert rows[0]["IsDeleted"] is True
    assert sf.query_all(soql, include_deleted=True)["totalSize"] == 1


def test_unknown_locator_is_400(sfh: SfHttp) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sfh.sf().query_more("01gAAAAAAAAAAAAAAA-2000")
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_fls_hides_custom_field_until_granted(sfh: SfHttp) -> None:
    sf = sfh.sf()
    result = sf.toolingexecute(
        "sobjects/CustomField/",
        method="POST",
        data={"FullName": "Lead.Fls_Score__c", "Metadata": {"type": "Number", "label": "Score"}},
    )
    assert result["success"] is True
    names = {f["name"] for f in sf.Lead.describe()["fields"]}
    assert "Fls_Score__c" not in names
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id, Fls_Score__c FROM Lead LIMIT 1")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    ps = sf.PermissionSet.create({"Name": "Fls_Sync", "Label": "Sync"})["id"]
    sf.FieldPermissions.create(
        {
            "ParentId": ps,
            "SobjectType": "Lead",
            "Field": "Lead.Fls_Score__c",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    # A grant on an unassigned permission set does not make the field visible yet.
    assert "Fls_Score__c" not in {f["name"] for f in sf.Lead.describe()["fields"]}
    sf.PermissionSetAssignment.create(
        {"AssigneeId": sfh.emulator.org.integration_user_id, "PermissionSetId": ps}
    )
    assert "Fls_Score__c" in {f["name"] for f in sf.Lead.describe()["fields"]}
    created = sf.Lead.create(lead(Fls_Score__c=42))["id"]
    rows = sf.query(format_soql("SELECT Fls_Score__c FROM Lead WHERE Id = {}", created))
    assert rows["records"][0]["Fls_Score__c"] == 42
    tooling = sf.toolingexecute(
        "query/?q=SELECT+Id,DeveloperName,TableEnumOrId,FullName+FROM+CustomField+"
        "WHERE+DeveloperName='Fls_Score'"
    )
    assert tooling["totalSize"] == 1
    row = tooling["records"][0]
    assert row["FullName"] == "Lead.Fls_Score__c"
    assert row["TableEnumOrId"] == "Lead"
    assert row["attributes"]["type"] == "CustomField"


def test_index_paging_on_large_org(tmp_path: Path) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    org = Org(clock=StepClock(start + dt.timedelta(days=30)), api_version=API_VERSION)
    count = 200_000
    # Many leads share each stamp so the (SystemModstamp, Id) tie-break matters.
    org.bulk_load(
        "Lead",
        (
            lead(SystemModstamp=start + dt.timedelta(seconds=i // 7), Email=f"x{i}@big.example")
            for i in range(count)
        ),
    )
    with running(tmp_path, org=org) as handle:
        sf = handle.sf()
        seen: list[str] = []
        watermark = (start - dt.timedelta(seconds=1), "")
        page_size = 2000
        pages = 0
        # Keyset paging over the first 10,000 leads, then the tail near the end.
        while pages < 5:
            stamp, last_id = watermark
            soql = format_soql(
                "SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= {ts} "
                "AND (SystemModstamp > {ts} OR Id > {last}) "
                "ORDER BY SystemModstamp, Id LIMIT {n}",
                ts=stamp,
                last=last_id or "000000000000000",
                n=page_size,
            )
            rows = sf.query(soql)["records"]
            assert len(rows) == page_size
            seen += [r["Id"] for r in rows]
            watermark = (
                dt.datetime.strptime(rows[-1]["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z"),
                rows[-1]["Id"],
            )
            pages += 1
        assert len(seen) == len(set(seen)) == 10_000
        expected = sorted((rec["SystemModstamp"], rid) for rid, rec in org.records("Lead").items())[
            :10_000
        ]
        assert seen == [rid for _, rid in expected]
        tail = sf.query(
            format_soql(
                "SELECT Id FROM Lead WHERE SystemModstamp > {ts} ORDER BY SystemModstamp, Id "
                "LIMIT 100",
                ts=start + dt.timedelta(seconds=(count - 50) // 7),
            )
        )["records"]
        assert 0 < len(tail) < 50
