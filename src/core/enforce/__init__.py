"""Enforcement on events: an EventBridge event in, a typed command, one action, its alert.

Owns the event parsers (``events``), the one table of handled events (``dispatch``), the actions
(``actions``), the alerts they raise (``alerts``) and the watched services (``watch``).

May import: ``core.model``, ``core.aws``, ``core.policy``, ``core.guardrail``, ``core.report``.
"""
