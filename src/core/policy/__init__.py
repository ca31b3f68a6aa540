"""The policies IAM Guard writes: the guardrail document and the Organizations SCPs. Pure.

Owns rendering (``document``), comparing a live document with the intended one, and the SCP texts
(``scp``). Nothing here calls AWS: the guardrail package applies what this package renders.

May import: ``core.model``.
"""
