"""IAM as a real account answers it, for the sweep: a botocore Stubber on a real boto3 IAM client.

moto's credential report has no ``<root_account>`` row and writes only some of IAM's special values, so
the path every real account takes is exercised here. The responses copy the *shape* of real ones
(recorded GetCredentialReport responses, e.g. Cloud Custodian's placebo files): IAM's 22-column CSV
header, ``true``/``false``, ISO 8601 timestamps with ``+00:00``, ``N/A`` (no key in a slot, key never
used, no password), ``no_information`` (password never used), ``not_supported`` (the root row's password
columns); the data is made up.

The Stubber answers each call with the first answer queued for its operation and parameters, and fails
on any other call: a test that queues the exact call list and ends with ``assert_no_pending_responses``
asserts that the sweep made exactly those calls. The account-wide reads go out at once
(``core.sweep.report.read_account``), so their order among themselves is not the sweep's to keep:
``RealIam.operations`` lists the leading account-wide reads in ``WARM_READS`` order, the rest as made.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3
from botocore import xform_name
from botocore.exceptions import StubAssertionError, UnStubbedResponseError
from botocore.stub import ANY, Stubber

from core.aws.gateway import Retrier
from core.aws.iam import IamGateway
from core.model.alerts import RecordingSink
from core.model.credential_report import HEADER, ROOT
from core.model.naming import IAM_PATH, policy_arn
from core.model.settings import Settings, build_settings
from core.policy.document import render_policy
from core.sweep.result import SweepResult
from core.sweep.run import run_sweep

ACCOUNT_ID = "111122223333"
GROUP = "IAMGuardSecuredUsers"
POLICY = "IAMGuardSecureIAMPolicy"
DEPLOYED = datetime(2024, 1, 1, tzinfo=UTC)


def deployed_group() -> dict[str, Any]:
    """The secured group as GetAccountAuthorizationDetails lists it: IAM Guard is deployed."""
    return {
        "Path": IAM_PATH,
        "GroupName": GROUP,
        "GroupId": "AGPAEXAMPLEGROUP0001",
        "Arn": f"arn:aws:iam::{ACCOUNT_ID}:group{IAM_PATH}{GROUP}",
        "CreateDate": DEPLOYED,
        "GroupPolicyList": [],
        "AttachedManagedPolicies": [{"PolicyName": POLICY, "PolicyArn": policy_arn(ACCOUNT_ID, POLICY)}],
    }


def deployed_policy() -> dict[str, Any]:
    """The guardrail policy with its one version, URL-encoded as IAM sends documents."""
    document = quote(json.dumps(render_policy(build_settings(ip_restriction=False))))
    return {
        "PolicyName": POLICY,
        "PolicyId": "ANPAEXAMPLEPOLICY001",
        "Arn": policy_arn(ACCOUNT_ID, POLICY),
        "Path": IAM_PATH,
        "DefaultVersionId": "v1",
        "AttachmentCount": 1,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": DEPLOYED,
        "UpdateDate": DEPLOYED,
        "PolicyVersionList": [
            {"Document": document, "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": DEPLOYED}
        ],
    }


# The account-wide reads of a warm report: 7 calls on real IAM (docs/sweep.md, the budget table).
WARM_READS = (
    "GenerateCredentialReport",
    "GetCredentialReport",
    "GetAccountAuthorizationDetails",
    "ListVirtualMFADevices",
    "GetAccountSummary",
    "ListServiceSpecificCredentials",
    "GetAccountPasswordPolicy",
)

# GetAccountPasswordPolicy's PasswordPolicy meeting every requirement (IAM.7, IAM.10-IAM.17): no finding.
STRONG_PASSWORD_POLICY: dict[str, Any] = {
    "MinimumPasswordLength": 14,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "ExpirePasswords": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
    "HardExpiry": False,
}
NO_PASSWORD_POLICY = None  # the account has none: IAM answers NoSuchEntity


# The root user's virtual MFA device as ListVirtualMFADevices lists it: the User is the root (its ARN
# ends in ``:root``, its UserId is the account ID) and has no UserName: both set after the Stubber, whose
# validation requires a UserName and a 16-character UserId; the serial is the device's chosen name.
ROOT_VIRTUAL_DEVICE: dict[str, Any] = {
    "SerialNumber": f"arn:aws:iam::{ACCOUNT_ID}:mfa/root-phone",
    "User": {
        "Path": "/",
        "UserName": "root-placeholder",
        "UserId": "ROOTPLACEHOLDER00",  # the account ID after the Stubber (shorter than its minimum)
        "Arn": f"arn:aws:iam::{ACCOUNT_ID}:root",
        "CreateDate": DEPLOYED,
    },
    "EnableDate": DEPLOYED,
}


def _drop_root_user_name(parsed: dict[str, Any], **_: Any) -> None:
    for device in parsed.get("VirtualMFADevices", []):
        if device.get("User", {}).get("Arn", "").endswith(":root"):
            device["User"].pop("UserName", None)
            device["User"]["UserId"] = ACCOUNT_ID


def stamp(moment: datetime) -> str:
    """A timestamp as the credential report writes it: 2016-10-06T16:11:27+00:00."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass(frozen=True)
class Key:
    """One access key slot's content in the report."""

    active: bool
    rotated: datetime
    used: datetime | None = None  # None: never used (N/A)
    region: str = "us-east-1"
    service: str = "s3"


@dataclass(frozen=True)
class Cert:
    """One signing certificate slot in the report (``cert_<n>_active``, ``cert_<n>_last_rotated``)."""

    active: bool
    uploaded: datetime


@dataclass(frozen=True)
class ReportUser:
    """One IAM user: its report row, its GetAccountAuthorizationDetails entry, its virtual MFA device."""

    name: str
    created: datetime
    password_changed: datetime | None = None  # None: no console password
    password_used: datetime | None = None  # None with a password: never used (no_information)
    mfa_in_report: bool = False  # mfa_active: any device, hardware/FIDO too, as of the report
    virtual_mfa: bool = False  # listed by ListVirtualMFADevices (Assigned)
    key1: Key | None = None
    key2: Key | None = None
    groups: tuple[str, ...] = (GROUP,)
    tags: dict[str, str] = field(default_factory=dict)
    cert1: Cert | None = None
    cert2: Cert | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT_ID}:user/{self.name}"

    def row(self) -> list[str]:
        if self.password_changed is None:
            password = ["false", "N/A", "N/A", "N/A"]
        else:
            used = stamp(self.password_used) if self.password_used else "no_information"
            password = ["true", used, stamp(self.password_changed), "N/A"]
        return [
            self.name,
            self.arn,
            stamp(self.created),
            *password,
            "true" if self.mfa_in_report else "false",
            *_key_cells(self.key1),
            *_key_cells(self.key2),
            *_cert_cells(self.cert1),
            *_cert_cells(self.cert2),
        ]

    def detail(self) -> dict[str, Any]:
        return {
            "Path": "/",
            "UserName": self.name,
            "UserId": _id("AIDA", self.name),
            "Arn": self.arn,
            "CreateDate": self.created,
            "GroupList": list(self.groups),
            "AttachedManagedPolicies": [],
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
        }


@dataclass(frozen=True)
class Root:
    """The root user: its report row and what GetAccountSummary says."""

    created: datetime
    mfa: bool
    password: bool
    key1: Key | None = None
    key2: Key | None = None
    password_used: datetime | None = None
    summary_mfa: bool | None = None  # what GetAccountSummary says, when it differs from the report

    def row(self) -> list[str]:
        used = stamp(self.password_used) if self.password_used else "no_information"
        return [
            ROOT,
            f"arn:aws:iam::{ACCOUNT_ID}:root",
            stamp(self.created),
            "not_supported",  # password_enabled: always, for root
            used if self.password else "N/A",
            "not_supported",  # password_last_changed
            "not_supported",  # password_next_rotation
            "true" if self.mfa else "false",
            *_key_cells(self.key1),
            *_key_cells(self.key2),
            "false",
            "N/A",
            "false",
            "N/A",
        ]

    def summary(self) -> dict[str, int]:
        """A real SummaryMap (the root user's three facts, and the usage/quota counters around them)."""
        mfa = self.mfa if self.summary_mfa is None else self.summary_mfa
        return {
            "GroupPolicySizeQuota": 5120,
            "InstanceProfilesQuota": 1000,
            "Policies": 12,
            "GroupsPerUserQuota": 10,
            "InstanceProfiles": 3,
            "AttachedPoliciesPerUserQuota": 10,
            "Users": 9,
            "PoliciesQuota": 1500,
            "Providers": 1,
            "AccountMFAEnabled": int(mfa),
            "AccessKeysPerUserQuota": 2,
            "AssumeRolePolicySizeQuota": 2048,
            "PolicyVersionsInUseQuota": 10000,
            "GlobalEndpointTokenVersion": 1,
            "VersionsPerPolicyQuota": 5,
            "AttachedPoliciesPerGroupQuota": 10,
            "PolicySizeQuota": 6144,
            "Groups": 2,
            "AccountSigningCertificatesPresent": 0,
            "UsersQuota": 5000,
            "ServerCertificatesQuota": 20,
            "MFADevices": 4,
            "UserPolicySizeQuota": 2048,
            "PolicyVersionsInUse": 20,
            "ServerCertificates": 0,
            "Roles": 31,
            "RolesQuota": 1000,
            "SigningCertificatesPerUserQuota": 2,
            "MFADevicesInUse": 4,
            "RolePolicySizeQuota": 10240,
            "AttachedPoliciesPerRoleQuota": 10,
            "AccountAccessKeysPresent": int(self.key1 is not None or self.key2 is not None),
            "AccountPasswordPresent": int(self.password),
            "GroupsQuota": 300,
        }


def _key_cells(key: Key | None) -> list[str]:
    if key is None:
        return ["false", "N/A", "N/A", "N/A", "N/A"]
    if key.used is None:
        return ["true" if key.active else "false", stamp(key.rotated), "N/A", "N/A", "N/A"]
    return ["true" if key.active else "false", stamp(key.rotated), stamp(key.used), key.region, key.service]


def _cert_cells(cert: Cert | None) -> list[str]:
    if cert is None:
        return ["false", "N/A"]
    return ["true" if cert.active else "false", stamp(cert.uploaded)]


def _id(prefix: str, name: str) -> str:
    digest = "".join(f"{ord(c):X}" for c in name)[:17]
    return (prefix + digest + "Q" * 17)[:21]


def report_csv(root: Root | None, users: list[ReportUser]) -> bytes:
    lines = [",".join(HEADER)]
    if root is not None:
        lines.append(",".join(root.row()))
    lines += [",".join(u.row()) for u in users]
    return "\n".join(lines).encode()  # IAM's report has no trailing newline


class ConcurrentStubber(Stubber):
    """botocore's Stubber for calls made at once: a call takes the first answer queued for its operation
    whose expected parameters it matches (``None``: any), whatever was queued before it for other
    operations or parameters; a call nothing queued answers fails as the Stubber's would."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._lock = threading.Lock()
        self._taken = threading.local()  # the answer chosen at the parameter check, popped at the call

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> None:
        if self._should_not_stub(context):
            return
        with self._lock:
            for entry in self._queue:
                if entry["operation_name"] == model.name and _expected(entry["expected_params"], params):
                    self._queue.remove(entry)
                    self._taken.entry = entry
                    return
            if any(entry["operation_name"] == model.name for entry in self._queue):
                raise StubAssertionError(
                    operation_name=model.name, reason=f"no answer queued for parameters {params}"
                )
        raise UnStubbedResponseError(operation_name=model.name, reason="Unexpected API Call: none queued")

    def _get_response_handler(self, model: Any, params: Any, context: Any, **kwargs: Any) -> Any:
        entry = getattr(self._taken, "entry", None)
        self._taken.entry = None
        if entry is None or entry["operation_name"] != model.name:
            raise UnStubbedResponseError(operation_name=model.name, reason="Unexpected API Call: none taken")
        return entry["response"]


def _expected(expected: dict[str, Any] | None, params: dict[str, Any]) -> bool:
    if expected is None:
        return True
    return sorted(expected) == sorted(params) and all(expected[k] == params[k] for k in expected)


class RealIam:
    """A real boto3 IAM client whose answers come from a Stubber, counted and listed in call order."""

    def __init__(self) -> None:
        self.client = boto3.client("iam", region_name="us-east-1")
        self.made: list[str] = []
        # Once per API call, before the Stubber checks the request (its before-call hook answers first
        # and ends that event's chain, so before-call handlers such as CallCounter's never see it).
        lock = threading.Lock()

        def record(model: Any, **_: Any) -> None:
            with lock:
                self.made.append(model.name)

        self.client.meta.events.register_first("before-parameter-build.iam", record)
        self.stubber = ConcurrentStubber(self.client)
        self.gateway = IamGateway(self.client, retrier=Retrier(sleep=lambda _: None))
        self.sink = RecordingSink()

    @property
    def operations(self) -> list[str]:
        """The calls made, the leading account-wide reads (made at once) in ``WARM_READS`` order."""
        lead = 0
        while lead < len(self.made) and self.made[lead] in WARM_READS:
            lead += 1
        return sorted(self.made[:lead], key=WARM_READS.index) + self.made[lead:]

    # --- queueing answers, in call order -----------------------------------------------------------

    def respond(self, operation: str, response: dict[str, Any], params: dict[str, Any] | None) -> None:
        """Queue IAM's answer to ``operation`` (its API name), checking the request against ``params``."""
        self.stubber.add_response(xform_name(operation), response, params)

    def account(
        self,
        root: Root,
        users: list[ReportUser],
        *,
        generated: datetime,
        service_credentials: list[dict[str, Any]] | None = None,
        password_policy: dict[str, Any] | None = STRONG_PASSWORD_POLICY,
        root_virtual_mfa: bool = False,
        report: bytes | None = None,
    ) -> None:
        """The seven reads of a sweep with a warm report (IAM answers COMPLETE at once); ``report``: the
        report's content instead of the one ``root`` and ``users`` give."""
        self.respond("GenerateCredentialReport", {"State": "COMPLETE"}, {})
        content = report_csv(root, users) if report is None else report
        self.respond(
            "GetCredentialReport",
            {"Content": content, "ReportFormat": "text/csv", "GeneratedTime": generated},
            {},
        )
        self.respond(
            "GetAccountAuthorizationDetails",
            {
                "UserDetailList": [u.detail() for u in users],
                "GroupDetailList": [deployed_group()],
                "RoleDetailList": [],
                "Policies": [deployed_policy()],
                "IsTruncated": False,
            },
            {"Filter": ANY, "MaxItems": ANY},
        )
        devices = [
            {
                "SerialNumber": f"arn:aws:iam::{ACCOUNT_ID}:mfa/{u.name}-phone",
                "User": {k: v for k, v in u.detail().items() if k in {"Path", "UserName", "UserId", "Arn"}}
                | {"CreateDate": u.created},
                "EnableDate": u.created,
            }
            for u in users
            if u.virtual_mfa
        ]
        if root_virtual_mfa:
            devices.append(ROOT_VIRTUAL_DEVICE)
            self.client.meta.events.register("after-call.iam.ListVirtualMFADevices", _drop_root_user_name)
        self.respond(
            "ListVirtualMFADevices",
            {"VirtualMFADevices": devices, "IsTruncated": False},
            {"AssignmentStatus": "Assigned", "MaxItems": ANY},
        )
        self.respond("GetAccountSummary", {"SummaryMap": root.summary()}, {})
        self.respond(
            "ListServiceSpecificCredentials",
            {"ServiceSpecificCredentials": service_credentials or [], "IsTruncated": False},
            {"AllUsers": True, "MaxItems": 1000},
        )
        if password_policy is None:
            self.stubber.add_client_error(
                "get_account_password_policy",
                service_error_code="NoSuchEntity",
                service_message=f"The Password Policy with domain name {ACCOUNT_ID} cannot be found.",
                http_status_code=404,
                expected_params={},
            )
        else:
            self.respond("GetAccountPasswordPolicy", {"PasswordPolicy": password_policy}, {})

    def access_keys(self, user: str, keys: list[tuple[str, str, datetime]]) -> None:
        """ListAccessKeys: (key ID, status, creation) in IAM's order."""
        self.respond(
            "ListAccessKeys",
            {
                "AccessKeyMetadata": [
                    {"UserName": user, "AccessKeyId": key_id, "Status": status, "CreateDate": created}
                    for key_id, status, created in keys
                ],
                "IsTruncated": False,
            },
            {"UserName": user},
        )

    def last_used(self, user: str, key_id: str, used: datetime | None) -> None:
        """GetAccessKeyLastUsed as IAM answers it; a key never used has no LastUsedDate, and N/A."""
        last: dict[str, Any] = {"ServiceName": "N/A", "Region": "N/A"}
        if used is not None:
            last = {"LastUsedDate": used, "ServiceName": "s3", "Region": "eu-west-1"}
        self.respond(
            "GetAccessKeyLastUsed", {"UserName": user, "AccessKeyLastUsed": last}, {"AccessKeyId": key_id}
        )

    def deactivate(self, user: str, key_id: str) -> None:
        self.respond("UpdateAccessKey", {}, {"UserName": user, "AccessKeyId": key_id, "Status": "Inactive"})

    # --- running -------------------------------------------------------------------------------------

    def sweep(self, settings: Settings, *, now: datetime) -> SweepResult:
        with self.stubber:
            result = run_sweep(self.gateway, self.sink, settings, now=now, sleep=lambda _: None)
        self.stubber.assert_no_pending_responses()
        return result
