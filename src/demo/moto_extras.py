"""What moto's IAM lacks and the sweep reads: service-specific credentials and centralized root access,
emulated minimally.

moto 5 answers ``ListServiceSpecificCredentials`` and ``CreateServiceSpecificCredential`` with "not
implemented". ``install()`` (idempotent; called by ``start_moto_server`` and the test suite) adds both to
moto's IAM responses, so the demo and the tests exercise the sweep's real calls: ``Create...`` with
``UserName``, ``ServiceName`` and an optional ``CredentialAgeDays`` (API keys: an ``ExpirationDate``),
``List...`` with ``UserName`` or ``AllUsers`` (every user, sorted by user; no paging). The shapes are
IAM's (botocore's model serializes them); only this emulation is ours, so what it proves about IAM
itself is the request shape, not IAM's behaviour (docs/status.md says so).

Centralized root access: ``ListOrganizationsFeatures``, ``EnableOrganizationsRootCredentialsManagement``
and ``EnableOrganizationsRootSessions`` (moto 5: "not implemented"), answered from moto's own
organisation: ``OrganizationNotFoundException`` when the caller's account has none,
``OrganizationNotInAllFeaturesModeException`` when it is not in all-features mode,
``AccountNotManagementOrDelegatedAdministratorException`` for a member that is not IAM's delegated
administrator; no feature is enabled until an ``Enable...`` call (AWS's default). IAM's trusted access
is not modelled (moto refuses ``iam.amazonaws.com`` as a trusted service): tests answer
``ServiceAccessNotEnabledException`` with botocore's Stubber.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

_STORE = "_iam_guard_service_credentials"  # on the IAM backend: reset with it (POST /moto-api/reset)


def _store(backend: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] | None = getattr(backend, _STORE, None)
    if found is None:
        found = []
        setattr(backend, _STORE, found)
    return found


def install() -> None:
    """Teach moto's IAM the two service-specific credential actions the sweep and the tests use."""
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse

    if getattr(IamResponse, "_iam_guard_extras", False):
        return

    def create_service_specific_credential(self: Any) -> Any:
        user_name = self._get_param("UserName")
        self.backend.get_user(user_name)  # NoSuchEntity for an unknown user, as IAM
        service = self._get_param("ServiceName")
        now = datetime.now(UTC)
        credential: dict[str, Any] = {
            "CreateDate": now,
            "ServiceName": service,
            "ServiceUserName": f"{user_name}-at-{secrets.randbelow(10**6):06d}",
            "ServiceSpecificCredentialId": "ACCA" + secrets.token_hex(8).upper(),
            "UserName": user_name,
            "Status": "Active",
        }
        age = self._get_param("CredentialAgeDays")
        if age:
            credential["ExpirationDate"] = now + timedelta(days=int(age))
        _store(self.backend).append(credential)
        return ActionResult(
            {"ServiceSpecificCredential": {**credential, "ServicePassword": secrets.token_urlsafe(24)}}
        )

    def list_service_specific_credentials(self: Any) -> Any:
        user_name = self._get_param("UserName")
        every = str(self._get_param("AllUsers")).lower() == "true"
        service = self._get_param("ServiceName")
        listed = [
            dict(c)
            for c in sorted(_store(self.backend), key=lambda c: (c["UserName"], c["CreateDate"]))
            if (every or c["UserName"] == user_name) and (not service or c["ServiceName"] == service)
        ]
        return ActionResult({"ServiceSpecificCredentials": listed, "IsTruncated": False})

    def update_service_specific_credential(self: Any) -> Any:
        wanted = self._get_param("ServiceSpecificCredentialId")
        for credential in _store(self.backend):
            if credential["ServiceSpecificCredentialId"] == wanted:
                credential["Status"] = self._get_param("Status")
        return ActionResult({})

    def organizations_features(self: Any, feature: str | None = None) -> Any:
        enabled = _root_access_features(self.current_account)
        if feature:
            enabled.add(feature)
        org_id = _caller_organization(self.current_account)
        return ActionResult({"OrganizationId": org_id, "EnabledFeatures": sorted(enabled)})

    def list_organizations_features(self: Any) -> Any:
        return organizations_features(self)

    def enable_organizations_root_credentials_management(self: Any) -> Any:
        return organizations_features(self, "RootCredentialsManagement")

    def enable_organizations_root_sessions(self: Any) -> Any:
        return organizations_features(self, "RootSessions")

    IamResponse.list_organizations_features = list_organizations_features  # type: ignore[attr-defined]
    IamResponse.enable_organizations_root_credentials_management = (  # type: ignore[attr-defined]
        enable_organizations_root_credentials_management
    )
    IamResponse.enable_organizations_root_sessions = enable_organizations_root_sessions  # type: ignore[attr-defined]
    IamResponse.create_service_specific_credential = create_service_specific_credential  # type: ignore[attr-defined]
    IamResponse.list_service_specific_credentials = list_service_specific_credentials  # type: ignore[attr-defined]
    IamResponse.update_service_specific_credential = update_service_specific_credential  # type: ignore[attr-defined]
    IamResponse._iam_guard_extras = True  # type: ignore[attr-defined]


_FEATURES = "_iam_guard_root_access_features"  # on the organisation's backend: reset with it


def _management_backend(account_id: str) -> Any:
    """The organisations backend of the caller's organisation (the management account's), or None."""
    from moto.organizations.models import organizations_backends

    own = organizations_backends[account_id]["aws"]
    if own.org is not None:
        return own
    if account_id in organizations_backends.master_accounts:
        management, partition = organizations_backends.master_accounts[account_id]
        return organizations_backends[management][partition]
    return None


def _iam_error(code: str, message: str) -> Exception:
    from moto.iam.exceptions import IAMException

    return IAMException(code, message)


def _caller_organization(account_id: str) -> str:
    backend = _management_backend(account_id)
    if backend is None or backend.org is None:
        raise _iam_error("OrganizationNotFoundException", "No organization is associated with the account.")
    if backend.org.feature_set != "ALL":
        raise _iam_error("OrganizationNotInAllFeaturesModeException", "All features are not enabled.")
    admins = {a.account.id for a in backend.admins if "iam.amazonaws.com" in a.services}
    if account_id != backend.org.master_account_id and account_id not in admins:
        raise _iam_error(
            "AccountNotManagementOrDelegatedAdministratorException",
            "The account is not the management account or delegated administrator.",
        )
    return str(backend.org.id)


def _root_access_features(account_id: str) -> set[str]:
    _caller_organization(account_id)  # the errors first, as IAM answers them
    backend = _management_backend(account_id)
    found: set[str] | None = getattr(backend, _FEATURES, None)
    if found is None:
        found = set()
        setattr(backend, _FEATURES, found)
    return found


def add_aws_managed_policy(name: str, account_id: str) -> None:
    """Give moto's IAM one AWS-managed policy (``arn:aws:iam::aws:policy/<name>``) from moto's own copy
    of AWS's policies, without loading all of them (``MOTO_IAM_LOAD_MANAGED_POLICIES`` takes seconds).
    The demo needs AWS's quarantine policy, which AWS attaches to a user whose key leaked."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[account_id]["global"]
    data = json.loads(aws_managed_policies_data)[name]
    policy = AWSManagedPolicy.from_data(name, account_id, backend.region_name, data)
    backend.managed_policies.setdefault(policy.arn, policy)


@contextmanager
def empty_event_history() -> Iterator[None]:
    """moto has no CloudTrail ``LookupEvents``: while this lasts it answers with no events (the demo's
    account has no trail history), in CloudTrail's format; the leaked-key summary says nothing was found."""
    from moto.cloudtrail.responses import CloudTrailResponse

    def lookup_events(self: Any) -> str:
        return json.dumps({"Events": []})

    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del CloudTrailResponse.lookup_events  # type: ignore[attr-defined]
