"""Every listing in core.aws.iam follows IAM's pages: IsTruncated + Marker, as real IAM answers.

moto answers most listings in one page, so a gateway that stopped after the first page would pass every
moto test. Here IAM's answers are scripted with botocore's Stubber, in IAM's own response format, over
three pages: the second one empty but truncated, which IAM documents it may do ("IAM might return fewer
than the MaxItems number of results even when there are more results available").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from core.aws.gateway import Retrier
from core.aws.iam import IamGateway, PolicyVersion

ACCOUNT = "123456789012"
CREATED = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def entity(kind: str, name: str) -> dict[str, Any]:
    """A user or group as IAM lists it (``kind`` is "user" or "group")."""
    prefix = {"user": "AIDA", "group": "AGPA"}[kind]
    return {
        "Path": "/",
        f"{kind.title()}Name": name,
        f"{kind.title()}Id": f"{prefix}{name.upper():0<17}"[:21],
        "Arn": f"arn:aws:iam::{ACCOUNT}:{kind}/{name}",
        "CreateDate": CREATED,
    }


def user(name: str) -> dict[str, Any]:
    return entity("user", name)


def group(name: str) -> dict[str, Any]:
    return entity("group", name)


def user_detail(name: str) -> dict[str, Any]:
    return {**user(name), "GroupList": ["IAMGuardSecuredUsers"], "Tags": [{"Key": "team", "Value": "ops"}]}


def virtual_device(name: str) -> dict[str, Any]:
    return {
        "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{name}-phone",
        "User": user(name),
        "EnableDate": CREATED,
    }


def access_key(key_id: str) -> dict[str, Any]:
    return {"UserName": "alice", "AccessKeyId": key_id, "Status": "Active", "CreateDate": CREATED}


def mfa_device(serial: str) -> dict[str, Any]:
    return {
        "UserName": "alice",
        "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/{serial}",
        "EnableDate": CREATED,
    }


def service_credential(service: str) -> dict[str, Any]:
    return {
        "UserName": "alice",
        "Status": "Active",
        "ServiceUserName": "alice-at-123456789012",
        "CreateDate": CREATED,
        "ServiceSpecificCredentialId": "ACCA" + (service.split(".")[0].upper() + "X" * 16)[:16],
        "ServiceName": service,
    }


def ssh_key(key_id: str) -> dict[str, Any]:
    return {"UserName": "alice", "SSHPublicKeyId": key_id, "Status": "Active", "UploadDate": CREATED}


def policy(name: str) -> dict[str, Any]:
    return {"PolicyName": name, "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/{name}"}


def version(number: int) -> dict[str, Any]:
    return {"VersionId": f"v{number}", "IsDefaultVersion": number == 3, "CreateDate": CREATED}


@dataclass(frozen=True)
class Listing:
    """One gateway listing: the IAM operation behind it, its request, and how to read the answer."""

    method: Callable[[IamGateway], Any]
    operation: str
    params: dict[str, Any]
    result_key: str
    pages: tuple[list[Any], list[Any], list[Any]]  # three pages of items, the middle one empty
    expected: Any  # what the gateway returns for all three pages
    extra: dict[str, Any] | None = None  # other required members of each page


LISTINGS = {
    "GetAccountAuthorizationDetails": Listing(
        lambda gw: [u["UserName"] for u in gw.iter_users_with_groups_and_tags()],
        "get_account_authorization_details",
        {"Filter": ["User"], "MaxItems": 1000},
        "UserDetailList",
        ([user_detail("alice"), user_detail("bob")], [], [user_detail("carol")]),
        ["alice", "bob", "carol"],
    ),
    "ListVirtualMFADevices": Listing(
        lambda gw: gw.users_with_assigned_virtual_mfa(),
        "list_virtual_mfa_devices",
        {"AssignmentStatus": "Assigned", "MaxItems": 1000},
        "VirtualMFADevices",
        ([virtual_device("alice")], [], [virtual_device("carol"), virtual_device("dave")]),
        {"alice", "carol", "dave"},
    ),
    "ListServiceSpecificCredentials": Listing(
        lambda gw: [c["ServiceName"] for c in gw.all_service_specific_credentials()],
        "list_service_specific_credentials",
        {"AllUsers": True, "MaxItems": 1000},
        "ServiceSpecificCredentials",
        (
            [service_credential("codecommit.amazonaws.com")],
            [],
            [service_credential("bedrock.amazonaws.com"), service_credential("logs.amazonaws.com")],
        ),
        ["codecommit.amazonaws.com", "bedrock.amazonaws.com", "logs.amazonaws.com"],
    ),
    "ListGroupsForUser": Listing(
        lambda gw: gw.list_groups_for_user("alice"),
        "list_groups_for_user",
        {"UserName": "alice"},
        "Groups",
        ([group("Developers")], [], [group("IAMGuardSecuredUsers")]),
        ["Developers", "IAMGuardSecuredUsers"],
    ),
    "GetGroup": Listing(
        lambda gw: gw.list_group_members("IAMGuardSecuredUsers"),
        "get_group",
        {"GroupName": "IAMGuardSecuredUsers"},
        "Users",
        ([user("alice"), user("bob")], [], [user("carol")]),
        ["alice", "bob", "carol"],
        extra={"Group": group("IAMGuardSecuredUsers")},
    ),
    "ListAttachedGroupPolicies": Listing(
        lambda gw: gw.list_attached_group_policies("IAMGuardSecuredUsers"),
        "list_attached_group_policies",
        {"GroupName": "IAMGuardSecuredUsers"},
        "AttachedPolicies",
        ([policy("ReadOnly")], [], [policy("IAMGuardSecureIAMPolicy")]),
        [f"arn:aws:iam::{ACCOUNT}:policy/ReadOnly", f"arn:aws:iam::{ACCOUNT}:policy/IAMGuardSecureIAMPolicy"],
    ),
    "ListAttachedUserPolicies": Listing(
        lambda gw: gw.list_attached_user_policies("alice"),
        "list_attached_user_policies",
        {"UserName": "alice"},
        "AttachedPolicies",
        ([policy("ReadOnly")], [], [{"PolicyName": "Q", "PolicyArn": "arn:aws:iam::aws:policy/Q"}]),
        [f"arn:aws:iam::{ACCOUNT}:policy/ReadOnly", "arn:aws:iam::aws:policy/Q"],
    ),
    "ListPolicyVersions": Listing(
        lambda gw: gw.list_policy_versions(f"arn:aws:iam::{ACCOUNT}:policy/P"),
        "list_policy_versions",
        {"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/P"},
        "Versions",
        ([version(1), version(2)], [], [version(3)]),
        [
            PolicyVersion("v1", False, CREATED),
            PolicyVersion("v2", False, CREATED),
            PolicyVersion("v3", True, CREATED),
        ],
    ),
    "ListAccessKeys": Listing(
        lambda gw: [k["AccessKeyId"] for k in gw.list_access_keys("alice")],
        "list_access_keys",
        {"UserName": "alice"},
        "AccessKeyMetadata",
        ([access_key("AKIAOLD0000000000001")], [], [access_key("AKIANEW0000000000002")]),
        ["AKIAOLD0000000000001", "AKIANEW0000000000002"],
    ),
    "ListSSHPublicKeys": Listing(
        lambda gw: [k["SSHPublicKeyId"] for k in gw.list_ssh_public_keys("alice")],
        "list_ssh_public_keys",
        {"UserName": "alice"},
        "SSHPublicKeys",
        ([ssh_key("APKAOLD0000000000001")], [], [ssh_key("APKANEW0000000000002")]),
        ["APKAOLD0000000000001", "APKANEW0000000000002"],
    ),
    "ListMFADevices": Listing(
        lambda gw: [d["SerialNumber"].rsplit("/", 1)[1] for d in gw.list_mfa_devices("alice")],
        "list_mfa_devices",
        {"UserName": "alice"},
        "MFADevices",
        ([], [], [mfa_device("alice-yubikey")]),  # two empty truncated pages, then the device
        ["alice-yubikey"],
    ),
}


def gateway_with_pages(listing: Listing) -> tuple[IamGateway, Stubber]:
    client = boto3.client("iam", region_name="us-east-1")
    stubber = Stubber(client)
    markers = [None, "page-2-marker", "page-3-marker"]
    for number, items in enumerate(listing.pages):
        last = number == len(listing.pages) - 1
        response = {**(listing.extra or {}), listing.result_key: items, "IsTruncated": not last}
        if not last:
            response["Marker"] = markers[number + 1]
        expected = {**listing.params, **({"Marker": markers[number]} if markers[number] else {})}
        stubber.add_response(listing.operation, response, expected)
    return IamGateway(client, retrier=Retrier(sleep=lambda _: None)), stubber


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_every_page_is_read_with_the_marker_iam_gave(name: str) -> None:
    listing = LISTINGS[name]
    gateway, stubber = gateway_with_pages(listing)

    with stubber:
        found = listing.method(gateway)
        if not isinstance(found, list | set):
            found = list(found)
        stubber.assert_no_pending_responses()  # all three pages were asked for, each with its marker

    assert found == listing.expected


@pytest.mark.parametrize("name", sorted(LISTINGS))
def test_a_single_page_answer_is_one_call(name: str) -> None:
    listing = LISTINGS[name]
    client = boto3.client("iam", region_name="us-east-1")
    stubber = Stubber(client)
    items = [item for page in listing.pages for item in page]
    stubber.add_response(
        listing.operation,
        {**(listing.extra or {}), listing.result_key: items, "IsTruncated": False},
        listing.params,
    )
    gateway = IamGateway(client, retrier=Retrier(sleep=lambda _: None))

    with stubber:
        found = listing.method(gateway)
        if not isinstance(found, list | set):
            found = list(found)
        stubber.assert_no_pending_responses()

    assert found == listing.expected


def test_a_page_is_retried_on_its_own_without_restarting_the_listing() -> None:
    """Throttled on page 2: the retry asks for page 2 again (same marker), not page 1."""
    listing = LISTINGS["GetAccountAuthorizationDetails"]
    client = boto3.client("iam", region_name="us-east-1")
    stubber = Stubber(client)
    first = {"UserDetailList": [user_detail("alice")], "IsTruncated": True, "Marker": "m2"}
    stubber.add_response(listing.operation, first, listing.params)
    stubber.add_client_error(
        listing.operation,
        "Throttling",
        "Rate exceeded",
        400,
        expected_params={**listing.params, "Marker": "m2"},
    )
    last = {"UserDetailList": [user_detail("bob")], "IsTruncated": False}
    stubber.add_response(listing.operation, last, {**listing.params, "Marker": "m2"})
    gateway = IamGateway(client, retrier=Retrier(sleep=lambda _: None))

    with stubber:
        names = [u["UserName"] for u in gateway.iter_users_with_groups_and_tags()]
        stubber.assert_no_pending_responses()

    assert names == ["alice", "bob"]


def test_every_paginated_gateway_method_is_covered_here() -> None:
    """A new listing in core.aws.iam must join the table above (found by the operations it pages)."""
    import inspect
    import re

    source = inspect.getsource(IamGateway)
    assert set(re.findall(r'self\._pages\(\s*"(\w+)"', source)) == set(LISTINGS)
