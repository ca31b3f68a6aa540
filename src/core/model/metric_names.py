"""The CloudWatch metrics IAM Guard's functions emit, in one registry. Pure.

The handlers emit exactly these names (with Powertools Metrics: namespace ``POWERTOOLS_METRICS_NAMESPACE``,
one dimension ``service`` = ``POWERTOOLS_SERVICE_NAME``, both set in template.yaml's Globals), and the
dashboard in template.yaml graphs only these: tests/template/test_dashboard.py holds the dashboard to
``EMITTED`` and the handlers' real EMF output to it too.

Each finding kind is its own metric (``Findings-<kind>``) rather than a dimension value: a dashboard
names each line explicitly, no SEARCH expression, and every kind is emitted on every run (0 when
absent), so a line that drops to 0 means "fixed", not "no data".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from core.model.findings import Finding

NAMESPACE = "IAMGuard"  # template.yaml: POWERTOOLS_METRICS_NAMESPACE
SERVICE = "iam-guard"  # template.yaml: POWERTOOLS_SERVICE_NAME, Powertools' "service" dimension
SERVICE_DIMENSION = "service"

COUNT = "Count"
SECONDS = "Seconds"

# --- the enforcer (one event per invocation) --------------------------------------------------------
ENFORCEMENT_FAILED = "EnforcementFailed"
ACTION_PREFIX = "Action-"


def action_metric(action: str) -> str:
    """``Action-<action>``: one per enforcer invocation (enrolled, healed, already-enrolled, ...)."""
    return f"{ACTION_PREFIX}{action}"


ENFORCER_ENROLLED = action_metric("enrolled")  # a new or un-exempted user put into the group
ENFORCER_HEALED = action_metric("healed")  # tampering with the group, its members or the policy undone

# --- the other functions ----------------------------------------------------------------------------
GUARDRAIL_REQUEST_REFUSED = "GuardrailRequestRefused"  # a custom-resource request failed verification
SLACK_MESSAGES_POSTED = "SlackMessagesPosted"
SLACK_DELIVERY_FAILED = "SlackDeliveryFailed"
ORG_ACCOUNTS_TARGETED = "OrgAccountsTargeted"  # member accounts one org sweep run sweeps

# --- the sweep (gauges, once per successful run) ---------------------------------------------------
SWEEP_FINDINGS = "SweepFindings"
SWEEP_NEEDS_ATTENTION = "SweepNeedsAttention"
USERS_WITHOUT_MFA = "UsersWithoutMFA"  # distinct users (root included) with an MFA finding
USERS_OUTSIDE_GROUP = "UsersOutsideGroup"  # still outside the secured group when the sweep ended
SWEEP_ENROLLED = "SweepEnrolled"  # users the sweep put into the group (the enforcer missed them)
USERS_KEYS_DEACTIVATED = "UsersKeysDeactivated"  # users whose access keys the sweep deactivated
SWEEP_FAILURES = "SweepFailures"  # enrolments or remediations that failed
SWEEP_DURATION = "SweepDurationSeconds"
SWEEP_IAM_CALLS = "SweepIamCalls"
# Emitted only by a sweep that ran to the end: the <stack>_sweep-missing alarm fires on its absence.
SWEEP_COMPLETED = "SweepCompleted"
FINDINGS_PREFIX = "Findings-"


def findings_metric(kind: str) -> str:
    """``Findings-<kind>``: how many findings of that kind the run reported."""
    return f"{FINDINGS_PREFIX}{kind}"


def finding_kinds() -> tuple[str, ...]:
    """Every finding kind the classification knows (core.model.findings.SEVERITY holds them all)."""
    # Imported here: every function names its metrics from this module, only the sweep has findings.
    from core.model.findings import SEVERITY

    return tuple(SEVERITY)


def mfa_finding_kinds() -> tuple[str, ...]:
    """The finding kinds that mean "no MFA" (the root user's, a console user's, an access key's)."""
    from core.model.findings import ACCESS_KEY_WITHOUT_MFA, CONSOLE_WITHOUT_MFA, ROOT_WITHOUT_MFA

    return (ROOT_WITHOUT_MFA, CONSOLE_WITHOUT_MFA, ACCESS_KEY_WITHOUT_MFA)


class Metric(NamedTuple):
    """One CloudWatch metric value to emit: its name, unit and value."""

    name: str
    unit: str
    value: float


def sweep_metrics(findings: Iterable[Finding], *, duration_seconds: float, iam_calls: int) -> list[Metric]:
    """The gauges of one sweep run: what the dashboard graphs over time."""
    from core.model.findings import ENROLLED, FAILED, NOT_IN_SECURED_GROUP, REMEDIATED

    mfa_kinds = mfa_finding_kinds()
    findings = list(findings)
    by_kind = dict.fromkeys(finding_kinds(), 0)
    for f in findings:
        by_kind[f.finding] = by_kind.get(f.finding, 0) + 1
    statuses = [f.status for f in findings]
    without_mfa = {f.user for f in findings if f.finding in mfa_kinds}
    outside = [f for f in findings if f.finding == NOT_IN_SECURED_GROUP and f.status != ENROLLED]
    gauges = [
        Metric(SWEEP_FINDINGS, COUNT, len(findings)),
        Metric(SWEEP_NEEDS_ATTENTION, COUNT, sum(f.needs_attention for f in findings)),
        Metric(USERS_WITHOUT_MFA, COUNT, len(without_mfa)),
        Metric(USERS_OUTSIDE_GROUP, COUNT, len(outside)),
        Metric(SWEEP_ENROLLED, COUNT, statuses.count(ENROLLED)),
        Metric(USERS_KEYS_DEACTIVATED, COUNT, statuses.count(REMEDIATED)),
        Metric(SWEEP_FAILURES, COUNT, statuses.count(FAILED)),
        Metric(SWEEP_DURATION, SECONDS, round(duration_seconds, 3)),
        Metric(SWEEP_IAM_CALLS, COUNT, iam_calls),
    ]
    gauges += [Metric(findings_metric(kind), COUNT, n) for kind, n in by_kind.items()]
    return gauges


SWEEP_GAUGES = (
    SWEEP_FINDINGS,
    SWEEP_NEEDS_ATTENTION,
    USERS_WITHOUT_MFA,
    USERS_OUTSIDE_GROUP,
    SWEEP_ENROLLED,
    USERS_KEYS_DEACTIVATED,
    SWEEP_FAILURES,
    SWEEP_DURATION,
    SWEEP_IAM_CALLS,
)


# Things that happen (graph their sum per period); every other metric is a level (graph its maximum).
EVENTS = frozenset(
    {
        SWEEP_ENROLLED,
        USERS_KEYS_DEACTIVATED,
        SWEEP_FAILURES,
        SWEEP_COMPLETED,
        ENFORCEMENT_FAILED,
        ENFORCER_ENROLLED,
        ENFORCER_HEALED,
        GUARDRAIL_REQUEST_REFUSED,
        SLACK_MESSAGES_POSTED,
        SLACK_DELIVERY_FAILED,
    }
)


def emitted() -> frozenset[str]:
    """Every metric name a function may emit whose name is known before it runs (the dashboard's
    vocabulary); ``Action-<action>`` covers the enforcer's other actions too."""
    return frozenset(
        {
            *SWEEP_GAUGES,
            *(findings_metric(kind) for kind in finding_kinds()),
            SWEEP_COMPLETED,
            ENFORCEMENT_FAILED,
            ENFORCER_ENROLLED,
            ENFORCER_HEALED,
            GUARDRAIL_REQUEST_REFUSED,
            SLACK_MESSAGES_POSTED,
            SLACK_DELIVERY_FAILED,
            ORG_ACCOUNTS_TARGETED,
        }
    )
