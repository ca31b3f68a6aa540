"""The scheduled sweep of one account: credential report, classification, reconcile, self-check.

Owns fetching the credential report, classifying users into findings (``classify``), enrolling and
remediating (``run``), the sweep's alerts, the enforcer self-check (``selfcheck``) and the audit's
renderings (``output``: table, JSON, CSV).

May import: ``core.model``, ``core.aws``, ``core.policy``, ``core.guardrail``, ``core.report``.
"""
