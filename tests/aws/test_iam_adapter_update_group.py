"""What IAM Guard sends to move or rename a group, checked against IAM's own API model (botocore Stubber):
moto ignores a path-only UpdateGroup, so the request itself is the proof."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from core.aws.gateway import Retrier
from core.aws.iam import IamGateway


def test_a_path_only_move_sends_the_new_path_and_no_new_name() -> None:
    client = boto3.client("iam", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("update_group", {}, {"GroupName": "IAMGuardSecuredUsers", "NewPath": "/iam-guard/"})
        IamGateway(client, retrier=Retrier(sleep=lambda _: None)).update_group(
            "IAMGuardSecuredUsers", new_path="/iam-guard/"
        )
        stub.assert_no_pending_responses()


def test_a_rename_back_sends_both() -> None:
    client = boto3.client("iam", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "update_group",
            {},
            {"GroupName": "legacy-users", "NewGroupName": "IAMGuardSecuredUsers", "NewPath": "/iam-guard/"},
        )
        IamGateway(client).update_group(
            "legacy-users", new_name="IAMGuardSecuredUsers", new_path="/iam-guard/"
        )
        stub.assert_no_pending_responses()


def test_groups_and_policies_are_created_on_iam_guards_path() -> None:
    client = boto3.client("iam", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "create_group",
            {
                "Group": {
                    "Path": "/iam-guard/",
                    "GroupName": "G",
                    "GroupId": "AGPAEXAMPLE000000000",
                    "Arn": "arn:aws:iam::123456789012:group/iam-guard/G",
                    "CreateDate": "2026-01-01T00:00:00Z",
                }
            },
            {"GroupName": "G", "Path": "/iam-guard/"},
        )
        IamGateway(client).create_group("G")
        stub.assert_no_pending_responses()
