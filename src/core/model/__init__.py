"""The model: what IAM Guard's words mean. Pure data and rules, no I/O, no AWS.

Owns the settings (one validated ``Settings``), input validation, the exception tree, the fixed
names (``naming``), exemptions, the alert model, the finding vocabulary (kinds, statuses, severities,
the controls they map to), the credential-report parser and the metric names.

May import: the standard library only (and itself).
"""
