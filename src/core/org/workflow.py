"""The hub's scheduled sweep as a Step Functions definition, generated from the CLI's fan-out settings.

ListAccounts (Organizations, as delegated administrator) -> Distributed Map over the accounts
(``MaxConcurrency`` and ``ToleratedFailurePercentage`` = ``FanOutSettings``, the CLI's ``--max-concurrency``
and ``--max-failed-percent`` defaults) running the per-account sweep function, results written to S3
(``ResultWriter``: 10,000 account summaries would not fit the 256 KB state payload) -> one digest.

``org/sweep-state-machine.asl.json`` is this definition, committed; template.yaml embeds it with
``DefinitionSubstitutions`` and a test holds the file to this function's output.
"""

from __future__ import annotations

import json
from typing import Any

from core.org.fanout import FanOutSettings

# DefinitionSubstitutions the template fills in.
LIST_FUNCTION = "${OrgListAccountsFunctionArn}"
SWEEP_FUNCTION = "${OrgSweepAccountFunctionArn}"
DIGEST_FUNCTION = "${OrgDigestFunctionArn}"
RESULTS_BUCKET = "${OrgResultsBucket}"
PARTITION = "${Partition}"  # aws, aws-cn or aws-us-gov: the service integration's ARN names it
SUBSTITUTIONS = (
    "OrgListAccountsFunctionArn",
    "OrgSweepAccountFunctionArn",
    "OrgDigestFunctionArn",
    "OrgResultsBucket",
    "Partition",
)
RESULTS_PREFIX = "sweeps"
FAILURE_THRESHOLD_EXCEEDED = "States.ExceedToleratedFailureThreshold"

_LAMBDA_RETRY = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 3,
        "BackoffRate": 2.0,
    }
]


def sweep_state_machine(fan_out: FanOutSettings | None = None) -> dict[str, Any]:
    settings = fan_out or FanOutSettings()
    return {
        "Comment": "IAM Guard organisation sweep: list the accounts, sweep each (bounded), send one digest",
        "StartAt": "ListAccounts",
        "States": {
            "ListAccounts": {
                "Type": "Task",
                "Resource": LIST_FUNCTION,
                "ResultPath": "$.targets",
                "Retry": _LAMBDA_RETRY,
                "Next": "SweepAccounts",
            },
            "SweepAccounts": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "SweepAccount",
                    "States": {
                        "SweepAccount": {
                            "Type": "Task",
                            "Resource": SWEEP_FUNCTION,
                            "Retry": _LAMBDA_RETRY,
                            "End": True,
                        }
                    },
                },
                "ItemsPath": "$.targets.accounts",
                "ItemSelector": {
                    "account_id.$": "$$.Map.Item.Value",
                    "organization_id.$": "$.targets.organization_id",
                },
                "MaxConcurrency": settings.max_concurrency,
                "ToleratedFailurePercentage": float(settings.max_failed_percent),
                "ResultWriter": {
                    "Resource": f"arn:{PARTITION}:states:::s3:putObject",
                    "Parameters": {"Bucket": RESULTS_BUCKET, "Prefix": RESULTS_PREFIX},
                },
                "ResultPath": "$.results",
                "Catch": [
                    {
                        "ErrorEquals": [FAILURE_THRESHOLD_EXCEEDED],
                        "ResultPath": "$.map_error",
                        "Next": "Digest",
                    }
                ],
                "Next": "Digest",
            },
            "Digest": {
                "Type": "Task",
                "Resource": DIGEST_FUNCTION,
                "Retry": _LAMBDA_RETRY,
                "End": True,
            },
        },
    }


def definition_json(fan_out: FanOutSettings | None = None) -> str:
    """The committed file's exact text."""
    return json.dumps(sweep_state_machine(fan_out), indent=2) + "\n"
