"""The environment template.yaml gives a function: Globals + the function's own variables, with every
``!Ref`` / ``!GetAtt`` resolved (parameters to their defaults unless overridden, resources to test values).
"""

from __future__ import annotations

from typing import Any

from tests.template.template_model import load_template, resolve

__all__ = ["function_environment", "load_template", "resource_properties"]


def function_environment(
    template: dict[str, Any],
    function: str,
    *,
    parameters: dict[str, str],
    resources: dict[str, str],
) -> dict[str, str]:
    """``function``'s environment variables. ``parameters`` override parameter defaults; ``resources``
    gives the value of ``!Ref Resource`` and ``!GetAtt Resource.Attr`` (keys "Resource", "Resource.Attr")."""
    global_vars = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own_vars = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    return _resolved({**global_vars, **own_vars}, parameters, resources)


def resource_properties(
    template: dict[str, Any],
    resource: str,
    *,
    parameters: dict[str, str],
    resources: dict[str, str],
) -> dict[str, str]:
    """A resource's properties as CloudFormation sends them (e.g. to a custom resource), resolved."""
    return _resolved(template["Resources"][resource]["Properties"], parameters, resources)


def _resolved(
    values: dict[str, Any], parameters: dict[str, str], resources: dict[str, str]
) -> dict[str, str]:
    """Every value resolved to the string CloudFormation would pass; an intrinsic we cannot resolve fails."""
    resolved = {name: resolve(value, parameters, resources) for name, value in values.items()}
    unresolved = {name: value for name, value in resolved.items() if not isinstance(value, str | int)}
    if unresolved:
        raise ValueError(f"unsupported intrinsic in the template: {unresolved}")
    return {name: str(value) for name, value in resolved.items()}
