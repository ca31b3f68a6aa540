"""The CloudFormation adapter: what IAM Guard reads about its own stack. Read-only.

The custom resource asks it whether a request really comes from a stack operation now running; the sweep
asks when the stack last finished an operation (a function changed after that was changed by hand);
the enforcer asks whether its own stack is being updated (its changes are then reported, not alarmed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from core.aws.gateway import Gateway
from core.aws.iam import permissions_of, requires


def default_cloudformation_client() -> Any:
    from core.aws.clients import client

    return client("cloudformation")


class StackFacts(NamedTuple):
    """DescribeStacks' answer for one stack: its status, parameters and outputs."""

    stack_id: str
    name: str
    status: str
    parameters: Mapping[str, str] = MappingProxyType({})  # read-only
    outputs: Mapping[str, str] = MappingProxyType({})

    @property
    def in_progress(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")


class ResourceEvent(NamedTuple):
    """One stack event: ``properties`` are the resolved properties CloudFormation sent, when it says."""

    logical_id: str
    status: str
    timestamp: datetime
    resource_type: str = ""
    properties: Mapping[str, Any] | None = None


class StackSetOperation(NamedTuple):
    """One ``ListStackSetOperations`` summary: an operation of a StackSet and when it ran."""

    operation_id: str
    action: str  # CREATE | UPDATE | DELETE | DETECT_DRIFT
    status: str  # RUNNING | SUCCEEDED | FAILED | STOPPING | STOPPED | QUEUED
    started: datetime | None
    ended: datetime | None  # None while it runs


# The hub creates the spoke StackSet as the organisation's delegated administrator (template.yaml's
# OrgSpokeStackSet; docs/organizations.md's hand-made one too): it is read the same way.
STACKSET_CALL_AS = "DELEGATED_ADMIN"
STACKSET_OPERATION_PAGES = 2  # of 100 operations, newest first


class StackResource(NamedTuple):
    """One resource of a stack (DescribeStackResource): its status and physical ID."""

    status: str
    physical_id: str


class CloudFormationGateway(Gateway):
    """Thin, typed wrapper over the three CloudFormation reads IAM Guard makes about its own stack."""

    default_client_factory = staticmethod(default_cloudformation_client)

    @requires("cloudformation:DescribeStacks")
    def stack(self, stack: str) -> StackFacts:
        """The stack's status and current parameter values (``stack``: its ID or name)."""
        found = self._call("DescribeStacks", StackName=stack)["Stacks"][0]
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters") or []}
        outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in found.get("Outputs") or []}
        return StackFacts(found["StackId"], found["StackName"], found["StackStatus"], parameters, outputs)

    @requires("cloudformation:DescribeStackResource")
    def resource_status(self, stack: str, logical_id: str) -> str:
        detail = self._call("DescribeStackResource", StackName=stack, LogicalResourceId=logical_id)
        return str(detail["StackResourceDetail"]["ResourceStatus"])

    @requires("cloudformation:DescribeStackResource")
    def resource(self, stack: str, logical_id: str) -> StackResource:
        """One resource of the stack as CloudFormation holds it now: its status and physical ID."""
        detail = self._call("DescribeStackResource", StackName=stack, LogicalResourceId=logical_id)
        found = detail["StackResourceDetail"]
        return StackResource(str(found["ResourceStatus"]), str(found.get("PhysicalResourceId", "")))

    @requires("cloudformation:DescribeStackEvents")
    def recent_events(self, stack: str) -> list[ResourceEvent]:
        """The newest stack events (one page, newest first): enough for an operation now running."""
        return [_event(e) for e in self._call("DescribeStackEvents", StackName=stack).get("StackEvents", [])]

    @requires("cloudformation:DescribeStackEvents")
    def event_history(self, stack: str, max_pages: int) -> list[ResourceEvent]:
        """The stack's events, newest first, over at most ``max_pages`` pages (fewer if the history ends)."""
        events: list[ResourceEvent] = []
        token: str | None = None
        for _ in range(max_pages):
            page = self._call(
                "DescribeStackEvents", StackName=stack, **({"NextToken": token} if token else {})
            )
            events.extend(_event(e) for e in page.get("StackEvents", []))
            token = page.get("NextToken")
            if not token:
                break
        return events

    @requires("cloudformation:ListStackSetOperations")
    def stackset_operations(
        self, stackset: str, *, call_as: str = STACKSET_CALL_AS, max_pages: int = STACKSET_OPERATION_PAGES
    ) -> list[StackSetOperation]:
        """The StackSet's operations (at most ``max_pages`` pages of 100); ``NotFoundError`` without it."""
        found: list[StackSetOperation] = []
        token: str | None = None
        for _ in range(max_pages):
            page = self._call(
                "ListStackSetOperations",
                StackSetName=stackset,
                CallAs=call_as,
                MaxResults=100,
                **({"NextToken": token} if token else {}),
            )
            found.extend(
                StackSetOperation(
                    str(o.get("OperationId", "")),
                    str(o.get("Action", "")),
                    str(o.get("Status", "")),
                    o.get("CreationTimestamp"),
                    o.get("EndTimestamp"),
                )
                for o in page.get("Summaries") or []
            )
            token = page.get("NextToken")
            if not token:
                break
        return found

    @requires("cloudformation:ListStackSetOperationResults")
    def stackset_operation_accounts(
        self, stackset: str, operation_id: str, *, call_as: str = STACKSET_CALL_AS
    ) -> dict[str, set[str]]:
        """Account -> its result statuses (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED; one per
        region) in one operation."""
        accounts: dict[str, set[str]] = {}
        token: str | None = None
        while True:
            page = self._call(
                "ListStackSetOperationResults",
                StackSetName=stackset,
                OperationId=operation_id,
                CallAs=call_as,
                MaxResults=100,
                **({"NextToken": token} if token else {}),
            )
            for result in page.get("Summaries") or []:
                account = str(result.get("Account", ""))
                if account:
                    accounts.setdefault(account, set()).add(str(result.get("Status", "")))
            token = page.get("NextToken")
            if not token:
                return accounts


def _event(raw: Mapping[str, Any]) -> ResourceEvent:
    properties: Mapping[str, Any] | None = None
    text = raw.get("ResourceProperties")
    if isinstance(text, str) and text:
        try:
            loaded = json.loads(text)
        except (ValueError, RecursionError):
            loaded = None
        properties = loaded if isinstance(loaded, dict) else None
    return ResourceEvent(
        str(raw.get("LogicalResourceId", "")),
        str(raw.get("ResourceStatus", "")),
        raw["Timestamp"],
        str(raw.get("ResourceType", "")),
        properties,
    )


def latest_event_of(events: list[ResourceEvent], logical_id: str) -> ResourceEvent | None:
    return next((e for e in events if e.logical_id == logical_id), None)


def last_finished_operation(events: list[ResourceEvent], stack_name: str) -> ResourceEvent | None:
    """The newest stack-level event, if it ends an operation (None while one is running or unknown)."""
    for event in events:
        if event.logical_id == stack_name and event.resource_type in ("AWS::CloudFormation::Stack", ""):
            return None if event.status.endswith("_IN_PROGRESS") else event
    return None


# Stack-level statuses that begin an operation: a resource's events newer than the newest of these belong to
# the operation now running; older ones to the operations before it.
OPERATION_STARTS = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
        "IMPORT_IN_PROGRESS",
        "IMPORT_ROLLBACK_IN_PROGRESS",
    }
)


def properties_before_current_operation(
    events: list[ResourceEvent], logical_id: str, stack_name: str
) -> Mapping[str, Any] | None:
    """The properties CloudFormation last sent ``logical_id`` in an operation before the one now running
    (``events`` newest first), or None when the events read hold none."""
    current_started = False
    for event in events:
        if not current_started:
            current_started = (
                event.logical_id == stack_name
                and event.resource_type in ("AWS::CloudFormation::Stack", "")
                and event.status in OPERATION_STARTS
            )
            continue
        if event.logical_id == logical_id and event.properties is not None:
            return event.properties
    return None


VERIFY_PERMISSIONS = permissions_of(
    CloudFormationGateway.stack,
    CloudFormationGateway.resource,
    CloudFormationGateway.recent_events,
    CloudFormationGateway.event_history,
)

STACKSET_PERMISSIONS = permissions_of(
    CloudFormationGateway.stackset_operations, CloudFormationGateway.stackset_operation_accounts
)
