"""One account's sweep, summed up small enough to travel: the per-account function returns it, the
digest reads it back (from the Distributed Map's result files in S3), the CLI builds the same digest.

Also the reader of those result files (``manifest.json`` -> ``SUCCEEDED_n.json`` / ``FAILED_n.json``, the
format Step Functions documents for ``ResultWriter``: each entry's ``Output`` / ``Input`` is a JSON string).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import permissions_of, requires
from core.model.alerts import AlertKind, Severity

OK = "ok"
FAILED = "failed"
# A member's own alerts are recorded, not sent (the organisation gets one digest per run), except these:
# a person must act on each in that account, so the hub relays them to its topic after the digest.
RELAYED_KINDS = frozenset({AlertKind.SECURITY_HUB_FINDING_SUPPRESSED})


@dataclass(frozen=True)
class AccountSummary:
    """One account's sweep in a few numbers: what the Step Functions state carries to the digest."""

    account_id: str
    status: str  # ok | failed
    error: str | None = None
    worst: Severity = Severity.INFO  # most severe finding needing attention
    attention: int = 0  # findings needing attention
    attention_kinds: tuple[str, ...] = ()
    by_finding: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    iam_calls: int = 0
    assume_role_calls: int = 0
    # The member's alerts the hub sends on (core.org.sweep.RELAYED_KINDS), as alert envelopes
    relayed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "status": self.status,
            "error": self.error,
            "worst": self.worst.label,
            "attention": self.attention,
            "attention_kinds": list(self.attention_kinds),
            "by_finding": self.by_finding,
            "by_status": self.by_status,
            "iam_calls": self.iam_calls,
            "assume_role_calls": self.assume_role_calls,
            "relayed": list(self.relayed),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountSummary:
        return cls(
            account_id=str(data["account_id"]),
            status=str(data["status"]),
            error=data.get("error"),
            worst=Severity[str(data.get("worst", "info")).upper()],
            attention=int(data.get("attention", 0)),
            attention_kinds=tuple(data.get("attention_kinds", ())),
            by_finding={str(k): int(v) for k, v in (data.get("by_finding") or {}).items()},
            by_status={str(k): int(v) for k, v in (data.get("by_status") or {}).items()},
            iam_calls=int(data.get("iam_calls", 0)),
            assume_role_calls=int(data.get("assume_role_calls", 0)),
            relayed=tuple(str(envelope) for envelope in data.get("relayed") or ()),
        )


def totals_of(summaries: Iterable[AccountSummary], skipped: int = 0) -> dict[str, Any]:
    items = list(summaries)
    by_finding: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for s in items:
        by_finding.update(s.by_finding)
        by_status.update(s.by_status)
    failed = sum(s.status == FAILED for s in items)
    return {
        "accounts": len(items),
        "accounts_ok": len(items) - failed,
        "accounts_failed": failed,
        "accounts_skipped": skipped,
        "by_finding": dict(sorted(by_finding.items())),
        "by_status": dict(sorted(by_status.items())),
        "iam_calls": sum(s.iam_calls for s in items),
        "assume_role_calls": sum(s.assume_role_calls for s in items),
    }


# --- the Distributed Map's result files ------------------------------------------------------------------


def default_s3_client() -> Any:
    from core.aws.clients import client

    return client("s3")  # core.aws.gateway.Retrier retries


class ResultFiles(Gateway):
    """Reads a ``ResultWriter`` manifest and its result files (S3 adapter)."""

    default_client_factory = staticmethod(default_s3_client)

    @requires("s3:GetObject")
    def read_json(self, bucket: str, key: str) -> Any:
        return json.loads(self._call("GetObject", Bucket=bucket, Key=key)["Body"].read())

    def summaries(self, bucket: str, manifest_key: str) -> list[AccountSummary]:
        manifest = self.read_json(bucket, manifest_key)
        files = manifest.get("ResultFiles") or {}
        found: list[AccountSummary] = []
        for entry in files.get("SUCCEEDED") or []:
            found.extend(_succeeded(e) for e in self.read_json(bucket, entry["Key"]))
        for kind in ("FAILED", "PENDING"):
            for entry in files.get(kind) or []:
                found.extend(_not_succeeded(e) for e in self.read_json(bucket, entry["Key"]))
        return sorted(found, key=lambda s: s.account_id)


def _succeeded(entry: dict[str, Any]) -> AccountSummary:
    return AccountSummary.from_dict(json.loads(entry["Output"]))


def _not_succeeded(entry: dict[str, Any]) -> AccountSummary:
    """A child execution that failed (the per-account function crashed or timed out)."""
    account = str(json.loads(entry.get("Input") or "{}").get("account_id", "?"))
    error = entry.get("Error") or entry.get("Status") or "failed"
    cause = str(entry.get("Cause") or "").splitlines()[0:1]
    return AccountSummary(account, FAILED, error=f"{error}: {cause[0]}" if cause else str(error))


SummaryReader = Callable[[str, str], list[AccountSummary]]
READ_PERMISSIONS = permissions_of(ResultFiles.read_json)
