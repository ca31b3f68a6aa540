"""A stand-in for the three CloudFormation reads the custom resource makes, mid-operation.

moto's stacks finish every operation at once, so they can never show what the custom resource must see
before it acts: its own stack running an operation on the ``Guardrail`` resource, with that resource's
properties. This stand-in answers DescribeStacks, DescribeStackResource and DescribeStackEvents in
CloudFormation's response shapes (``tests/template`` checks them against botocore's model), for the demo
and the tests. ``begin`` is what CloudFormation does before it invokes the function; between operations
the stack is settled (``UPDATE_COMPLETE``), and any request then is a forgery.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from core.guardrail.custom_resource import LOGICAL_ID, PARAMETER_OF_PROPERTY

_STACK_STATUS = {
    "Create": "CREATE_IN_PROGRESS",
    "Update": "UPDATE_IN_PROGRESS",
    "Delete": "DELETE_IN_PROGRESS",
}


class CloudFormationStandIn:
    """One stack: its status, its parameters, and the events of its operations (the stack's and the
    ``Guardrail`` resource's), newest first, in pages of ``page_size``."""

    def __init__(self, stack_id: str, *, page_size: int = 100) -> None:
        self.stack_id = stack_id
        self.name = stack_id.split(":")[5].split("/")[1]
        self.status = "UPDATE_COMPLETE"
        self.parameters: dict[str, str] = {}
        self.resource_status = "UPDATE_COMPLETE"
        self.physical_id = f"{self.name}-{LOGICAL_ID}"
        self.event_properties: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []  # oldest first
        self.page_size = page_size
        self.calls: list[str] = []

    def begin(
        self, request_type: str, properties: Mapping[str, Any], *, stack_status: str | None = None
    ) -> None:
        """CloudFormation starts an operation that sends ``request_type`` with these properties."""
        self.status = stack_status or _STACK_STATUS[request_type]
        self.resource_status = f"{request_type.upper()}_IN_PROGRESS"
        self.event_properties = dict(properties)
        self._record(self.name, self.status)
        self._record(LOGICAL_ID, self.resource_status, self.event_properties)
        # A rollback may still show the failed update's parameters: leave them (its event tells the truth).
        if request_type != "Delete" and "ROLLBACK" not in self.status:
            self.parameters = {
                parameter: str(properties.get(prop, ""))
                for prop, parameter in PARAMETER_OF_PROPERTY.items()
                if prop in properties
            }

    def begin_from_request(self, request: Mapping[str, Any]) -> None:
        self.begin(str(request["RequestType"]), dict(request.get("ResourceProperties") or {}))

    def finish(self) -> None:
        self.status = self.resource_status = "UPDATE_COMPLETE"
        self._record(LOGICAL_ID, self.resource_status)
        self._record(self.name, self.status)

    def other_events(self, count: int) -> None:
        """Events of other resources (a busy stack): they push the resource's older events back a page."""
        for n in range(count):
            self._record(f"Other{n}", "UPDATE_COMPLETE")

    def _record(self, logical_id: str, status: str, properties: Mapping[str, Any] | None = None) -> None:
        import json

        event: dict[str, Any] = {
            "StackId": self.stack_id,
            "EventId": f"{logical_id}-{status}-{len(self.history)}",
            "StackName": self.name,
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": self.stack_id if logical_id == self.name else self.physical_id,
            "ResourceType": "AWS::CloudFormation::Stack" if logical_id == self.name else "Custom::Guardrail",
            "Timestamp": datetime.now(UTC),
            "ResourceStatus": status,
        }
        if properties is not None:
            event["ResourceProperties"] = json.dumps(dict(properties))
        self.history.append(event)

    # --- the boto3 client methods the gateway calls ---------------------------------------------------

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self.calls.append("DescribeStacks")
        self._check(StackName)
        parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(self.parameters.items())]
        stack = {
            "StackId": self.stack_id,
            "StackName": self.name,
            "StackStatus": self.status,
            "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
            "Parameters": parameters,
        }
        return {"Stacks": [stack]}

    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        self.calls.append("DescribeStackResource")
        self._check(StackName)
        detail = {
            "StackName": self.name,
            "StackId": self.stack_id,
            "LogicalResourceId": LogicalResourceId,
            "PhysicalResourceId": self.physical_id if LogicalResourceId == LOGICAL_ID else LogicalResourceId,
            "ResourceType": "Custom::Guardrail",
            "LastUpdatedTimestamp": datetime.now(UTC),
            "ResourceStatus": self.resource_status if LogicalResourceId == LOGICAL_ID else "UPDATE_COMPLETE",
        }
        return {"StackResourceDetail": detail}

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
        self.calls.append("DescribeStackEvents")
        self._check(StackName)
        if self.history:
            newest_first = self.history[::-1]
            start = int(NextToken or 0)
            page: dict[str, Any] = {"StackEvents": newest_first[start : start + self.page_size]}
            if start + self.page_size < len(newest_first):
                page["NextToken"] = str(start + self.page_size)
            return page
        return self._settled_events()

    def _settled_events(self) -> dict[str, Any]:
        """A stack whose operations the stand-in did not see: one settled event each."""
        import json

        now = datetime.now(UTC)
        resource_event: dict[str, Any] = {
            "StackId": self.stack_id,
            "EventId": f"{LOGICAL_ID}-{self.resource_status}",
            "StackName": self.name,
            "LogicalResourceId": LOGICAL_ID,
            "ResourceType": "Custom::Guardrail",
            "Timestamp": now,
            "ResourceStatus": self.resource_status,
        }
        if self.event_properties is not None:
            resource_event["ResourceProperties"] = json.dumps(self.event_properties)
        stack_event = {
            "StackId": self.stack_id,
            "EventId": f"stack-{self.status}",
            "StackName": self.name,
            "LogicalResourceId": self.name,
            "PhysicalResourceId": self.stack_id,
            "ResourceType": "AWS::CloudFormation::Stack",
            "Timestamp": now,
            "ResourceStatus": self.status,
        }
        return {"StackEvents": [resource_event, stack_event]}

    def _check(self, stack: str) -> None:
        if stack not in (self.stack_id, self.name):
            from core.aws.clients import client_error

            raise client_error("ValidationError", f"Stack with id {stack} does not exist", "DescribeStacks")


@contextmanager
def stack_operation(request: Mapping[str, Any]) -> Iterator[CloudFormationStandIn]:
    """CloudFormation running the operation that sends ``request``: the custom resource, invoked within
    this block, finds its stack and its resource in progress with these properties (as it must)."""
    from core.aws.cloudformation import CloudFormationGateway
    from handlers import policy_resource

    stand_in = CloudFormationStandIn(str(request["StackId"]))
    stand_in.begin_from_request(request)
    original = policy_resource.cloudformation  # type: ignore[attr-defined]
    policy_resource.cloudformation = lambda: CloudFormationGateway(stand_in)  # type: ignore[attr-defined,assignment]
    try:
        yield stand_in
    finally:
        policy_resource.cloudformation = original  # type: ignore[attr-defined]
        stand_in.finish()


def deployed_enforcer(session: Any, stack: str) -> None:
    """On the emulator, what the stack deploys around the enforcer and the sweep reads back every run:
    the stack itself, the enforcer's rule (enabled, targeting the function) and the function."""
    import io
    import json
    import zipfile

    from core.aws.clients import client
    from core.model.naming import ENFORCER_FUNCTION, ENFORCER_RULE, resource_name, role_path

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handlers/enforcer.py", "# the real code runs in the demo process\n")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = client("iam", session=session).create_role(
        RoleName=resource_name(stack, ENFORCER_FUNCTION),
        Path=role_path(stack),
        AssumeRolePolicyDocument=json.dumps(trust),
    )["Role"]["Arn"]
    function = client("lambda", session=session).create_function(
        FunctionName=resource_name(stack, ENFORCER_FUNCTION),
        Runtime="python3.13",
        Role=role,
        Handler="handlers.enforcer.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )
    events = client("events", session=session)
    rule = resource_name(stack, ENFORCER_RULE)
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.iam"]}), State="ENABLED")
    events.put_targets(Rule=rule, Targets=[{"Id": "enforcer", "Arn": function["FunctionArn"]}])
    template = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}}
    client("cloudformation", session=session).create_stack(StackName=stack, TemplateBody=json.dumps(template))
