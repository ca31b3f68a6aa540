"""What moto's Security Hub lacks: ``BatchUpdateFindings`` and ``GetFindingHistory``, served in AWS's format.

``Triage`` answers both calls for any client it is attached to, over the findings moto stores (the same
backend ``GetFindings`` and ``BatchImportFindings`` use): ``BatchUpdateFindings`` changes the stored
finding's ``Workflow`` and records a history entry with the caller's identity; ``GetFindingHistory``
returns the recorded entries since ``StartTime``. A client's ``BatchImportFindings`` is recorded in the
history too, with its identity. Every answer is validated against botocore's output shape, as
``botocore.stub.Stubber`` validates its responses, so the code under test parses AWS's real format.
What AWS puts in ``UpdateSource.Identity`` for an import as the account's default product (the caller's
ARN is assumed here) is not verified against AWS.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from botocore.validate import validate_parameters
from tests.harness.answers import HttpAnswer

UPDATE = "BATCH_UPDATE_FINDINGS"
IMPORT = "BATCH_IMPORT_FINDINGS"


def _backend(account_id: str, region: str) -> Any:
    from moto.securityhub.models import securityhub_backends

    return securityhub_backends[account_id][region]


class Triage:
    """Security Hub's triage calls over moto's findings, one history shared by every attached client."""

    def __init__(self, account_id: str = "123456789012", region: str = "us-east-1") -> None:
        self.account_id = account_id
        self.region = region
        self.history: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (operation, request) of every served call
        self.unprocessed: dict[str, str] = {}  # finding ID -> ErrorCode BatchUpdateFindings answers
        self.history_error: str | None = None  # an error code GetFindingHistory answers with

    def attach(self, client: Any, identity: str) -> Any:
        """Serve its BatchUpdateFindings and GetFindingHistory; record its imports as ``identity``."""
        request: dict[str, Any] = {}

        def remember(params: dict[str, Any], **_: Any) -> None:
            request.clear()
            request.update(params)

        def answer(operation: str) -> Any:
            def serve(model: Any, **_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
                self.calls.append((operation, dict(request)))
                if operation == "GetFindingHistory" and self.history_error:
                    error = {"Error": {"Code": self.history_error, "Message": "injected"}}
                    return HttpAnswer(status_code=403), error
                body = (
                    self._update(request, identity)
                    if operation == "BatchUpdateFindings"
                    else self._read(request)
                )
                validate_parameters(body, model.output_shape)
                return HttpAnswer(), body

            return serve

        def imported(params: dict[str, Any], **_: Any) -> None:
            for finding in params.get("Findings", []):
                self._record(finding["Id"], IMPORT, identity, [("Title", str(finding.get("Title", "")))])

        for operation in ("BatchUpdateFindings", "GetFindingHistory"):
            client.meta.events.register(f"before-parameter-build.securityhub.{operation}", remember)
            client.meta.events.register(f"before-call.securityhub.{operation}", answer(operation))
        client.meta.events.register("before-parameter-build.securityhub.BatchImportFindings", imported)
        return client

    def _stored(self) -> dict[str, Any]:
        return {f.id: f for f in _backend(self.account_id, self.region).findings}

    def _record(self, finding_id: str, kind: str, identity: str, updates: list[tuple[str, str]]) -> None:
        product = f"arn:aws:securityhub:{self.region}:{self.account_id}:product/{self.account_id}/default"
        self.history[finding_id].append(
            {
                "FindingIdentifier": {"Id": finding_id, "ProductArn": product},
                "UpdateTime": datetime.now(UTC),
                "FindingCreated": not self.history[finding_id],
                "UpdateSource": {"Type": kind, "Identity": identity},
                "Updates": [{"UpdatedField": f, "NewValue": v} for f, v in updates],
            }
        )

    def _update(self, request: dict[str, Any], identity: str) -> dict[str, Any]:
        stored = self._stored()
        processed, unprocessed = [], []
        for identifier in request["FindingIdentifiers"]:
            finding = stored.get(identifier["Id"])
            code = self.unprocessed.get(identifier["Id"]) or ("" if finding else "FindingNotFound")
            if code:
                unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": code, "ErrorMessage": code})
                continue
            if "Workflow" in request:
                old = (finding.data.get("Workflow") or {}).get("Status", "NEW")
                finding.data["Workflow"] = {"Status": request["Workflow"]["Status"]}
                finding.data["WorkflowState"] = request["Workflow"]["Status"]
                self.history[identifier["Id"]].append(
                    {
                        "FindingIdentifier": identifier,
                        "UpdateTime": datetime.now(UTC),
                        "FindingCreated": False,
                        "UpdateSource": {"Type": UPDATE, "Identity": identity},
                        "Updates": [
                            {
                                "UpdatedField": "Workflow.Status",
                                "OldValue": old,
                                "NewValue": request["Workflow"]["Status"],
                            }
                        ],
                    }
                )
            processed.append(identifier)
        return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}

    def _read(self, request: dict[str, Any]) -> dict[str, Any]:
        since = request.get("StartTime")
        records = [
            r
            for r in self.history[request["FindingIdentifier"]["Id"]]
            if since is None or r["UpdateTime"] >= since
        ]
        return {"Records": records}

    def served(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]
