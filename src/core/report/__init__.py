"""Telling people: alert renderings and the channels that carry them, and Security Hub findings.

Owns the alert envelope and its renderings (``envelope``, ``render_common``, ``sns_email``,
``slack_blocks``), the sinks (``sns``, ``slack``), the alert for an unhandled error
(``unhandled``) and the ASFF mapping and import (``securityhub``).

May import: ``core.model``, ``core.aws``.
"""
