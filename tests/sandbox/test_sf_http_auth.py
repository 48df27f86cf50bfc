"""Salesforce emulator over HTTPS: OAuth flows, SOAP login, sessions and their expiry."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from simple_salesforce import (
    Salesforce,
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
)

from tests.sandbox.sf_http_fixtures import API_VERSION, SfHttp, caught, lead, running


@pytest.fixture(scope="module")
def sfh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfHttp]:
    with running(tmp_path_factory.mktemp("sf_auth")) as handle:
        yield handle


def test_bare_token_client_reads_and_writes(sfh: SfHttp) -> None:
    sf = sfh.sf()
    created = sf.Lead.create(lead(Email="token@example.com"))
    assert created["success"] is True
    assert sf.Lead.get(created["id"])["Email"] == "token@example.com"


def test_client_credentials_login(sfh: SfHttp) -> None:
    sf = sfh.sf_client_credentials()
    assert sf.auth_type == "client-credentials"
    assert sf.sf_instance == f"127.0.0.1:{sfh.server.port}"
    assert sf.query("SELECT COUNT() FROM Lead")["done"] is True


def test_client_credentials_token_body_shape(sfh: SfHttp) -> None:
    creds = sfh.emulator.credentials
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    response = sfh.token_request(
        {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(
        body
    )
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == sfh.base_url
    assert body["issued_at"].isdigit()
    assert "refresh_token" not in body
    # The identity URL answers GET with the token's user.
    who = sfh.session().get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"})
    assert who.status_code == 200
    assert who.json()["user_id"] == sfh.emulator.org.integration_user_id
    assert who.json()["organization_id"] == sfh.emulator.org.org_id


def test_client_credentials_form_secret_also_works(sfh: SfHttp) -> None:
    creds = sfh.emulator.credentials
    response = sfh.token_request(
        {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
    )
    assert response.status_code == 200


CLIENT = "leadbridge-sandbox-client"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
            "invalid_client_id",
        ),
        (
            {"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": "bad"},
            "invalid_client",
        ),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
        (
            {"grant_type": "refresh_token", "client_id": CLIENT, "refresh_token": "bad"},
            "invalid_grant",
        ),
    ],
)
def test_token_errors_are_400_with_oauth_error(
    sfh: SfHttp, form: dict[str, str], error: str
) -> None:
    response = sfh.token_request(form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert "error_description" in response.json()


def test_wrong_client_secret_makes_simple_salesforce_raise(sfh: SfHttp) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(
            consumer_key=sfh.emulator.credentials.client_id,
            consumer_secret="wrong",
            domain=sfh.domain,
            session=sfh.session(),
        )
    assert info.value.code == "invalid_client"


def test_jwt_bearer_login(sfh: SfHttp) -> None:
    sf = sfh.sf_jwt()
    assert sf.auth_type == "jwt-bearer"
    assert sf.Lead.create(lead())["success"] is True


def test_jwt_rejects_other_key_wrong_audience_and_expired(sfh: SfHttp) -> None:
    from tests.sandbox.sf_http_fixtures import rsa_key_pair

    creds = sfh.emulator.credentials
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": creds.client_id,
        "sub": creds.username,
        "aud": "https://login.salesforce.com",
        "exp": int((now + dt.timedelta(minutes=3)).timestamp()),
    }
    other_key, _ = rsa_key_pair()
    cases = [
        jwt.encode(claims, other_key, algorithm="RS256"),
        jwt.encode({**claims, "aud": "https://evil.example"}, sfh.private_key, algorithm="RS256"),
        jwt.encode(
            {**claims, "exp": int(now.timestamp()) - 10}, sfh.private_key, algorithm="RS256"
        ),
        jwt.encode({**claims, "sub": "nobody@x.example"}, sfh.private_key, algorithm="RS256"),
    ]
    for assertion in cases:
        response = sfh.token_request(
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
        )
        assert response.status_code == 400, assertion
        assert response.json()["error"] == "invalid_grant"
    good = jwt.encode(claims, sfh.private_key, algorithm="RS256")
    response = sfh.token_request(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": good}
    )
    assert response.status_code == 200
    assert "refresh_token" not in response.json()


def test_oauth_password_grant_through_simple_salesforce(sfh: SfHttp) -> None:
    creds = sfh.emulator.credentials
    sf = Salesforce(
        username=creds.username,
        password=creds.password,
        consumer_key=creds.client_id,
        consumer_secret=creds.client_secret,
        domain=sfh.domain,
        session=sfh.session(),
        version=API_VERSION,
    )
    assert sf.query("SELECT COUNT() FROM Lead")["done"] is True


def test_soap_login_with_security_token(sfh: SfHttp) -> None:
    creds = sfh.emulator.credentials
    sf = Salesforce(
        username=creds.username,
        password=creds.password,
        security_token=sfh.emulator.security_token,
        domain=sfh.domain,
        session=sfh.session(),
        version=API_VERSION,
    )
    assert sf.sf_instance == f"127.0.0.1:{sfh.server.port}"
    assert sf.query("SELECT COUNT() FROM Lead")["done"] is True
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(
            username=creds.username,
            password="wrong",
            security_token="",
            domain=sfh.domain,
            session=sfh.session(),
        )
    assert info.value.code == "INVALID_LOGIN"


def test_refresh_token_grant(sfh: SfHttp) -> None:
    info = sfh.emulator.client_info(base_url=sfh.base_url, ca_file=sfh.ca_file)
    response = sfh.token_request(
        {
            "grant_type": "refresh_token",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "refresh_token": info["refresh_token"],
        }
    )
    assert response.status_code == 200
    assert sfh.sf(response.json()["access_token"]).query("SELECT COUNT() FROM Lead")["done"]


def test_client_info_keys(sfh: SfHttp) -> None:
    info = sfh.emulator.client_info(base_url=sfh.base_url, ca_file=sfh.ca_file)
    for key in (
        "instance_url",
        "client_id",
        "client_secret",
        "refresh_token",
        "access_token",
        "ca_file",
        "api_version",
        "username",
    ):
        assert info[key]
    assert info["domain"] == sfh.domain


def test_missing_or_bad_token_is_401_array_with_www_authenticate(sfh: SfHttp) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = sfh.session().get(
            sfh.url(f"/services/data/v{API_VERSION}/limits/"), headers=headers
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Token"
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_expiry_mid_read(tmp_path: Path) -> None:
    with running(tmp_path) as handle:
        handle.emulator.org.bulk_load("Lead", [lead(Email=f"e{i}@x.example") for i in range(2500)])
        bare = handle.sf()
        oauth = handle.sf_client_credentials()
        first_bare = bare.query("SELECT Id FROM Lead")
        first_oauth = oauth.query("SELECT Id FROM Lead")
        handle.control("POST", "expire_tokens")
        error = caught(
            lambda: bare.query_more(first_bare["nextRecordsUrl"], identifier_is_url=True)
        )
        assert isinstance(error, SalesforceExpiredSession)
        assert error.status == 401
        assert error.content[0]["errorCode"] == "INVALID_SESSION_ID"
        # A client that logged in itself re-authenticates transparently and carries on.
        second = oauth.query_more(first_oauth["nextRecordsUrl"], identifier_is_url=True)
        assert len(first_oauth["records"]) + len(second["records"]) == 2500
        assert oauth.Lead.get(second["records"][0]["Id"])["Id"] == second["records"][0]["Id"]


def test_token_ttl_follows_the_org_clock(tmp_path: Path) -> None:
    from leadbridge.sandbox.salesforce.org import Org

    moments = [dt.datetime(2025, 1, 1, tzinfo=dt.UTC)]
    org = Org(clock=lambda: moments[0], api_version=API_VERSION)
    with running(tmp_path, org=org, token_ttl_seconds=60) as handle:
        sf = handle.sf()
        assert sf.query("SELECT COUNT() FROM Lead")["done"]
        moments[0] += dt.timedelta(seconds=61)
        error = caught(lambda: sf.query("SELECT COUNT() FROM Lead"))
        assert isinstance(error, SalesforceExpiredSession)
