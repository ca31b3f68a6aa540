"""The secured group and its guardrail policy in one account: read, plan, apply, heal.

Owns the live state of the group and the policy (``state``: read, plan, apply, restore a renamed
group) and the CloudFormation custom resource that creates and updates them (``custom_resource``).

May import: ``core.model``, ``core.aws``, ``core.policy``.
"""
