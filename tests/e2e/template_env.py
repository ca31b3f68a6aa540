"""The environment template.yaml gives a function: Globals + the function's own variables, with every
``!Ref`` / ``!GetAtt`` resolved (parameters to their defaults unless overridden, resources to test values).
"""

from __future__ import annotations

from typing import Any

from tests.template.template_model import TEMPLATE, load_template

__all__ = ["TEMPLATE", "function_environment", "load_template", "resource_properties"]


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
    properties = template["Resources"][function]["Properties"]
    own_vars = properties.get("Environment", {}).get("Variables", {})
    defaults = {name: p.get("Default") for name, p in template.get("Parameters", {}).items()}
    return {
        name: _resolve(value, {**defaults, **parameters}, resources)
        for name, value in {**global_vars, **own_vars}.items()
    }


def resource_properties(
    template: dict[str, Any],
    resource: str,
    *,
    parameters: dict[str, str],
    resources: dict[str, str],
) -> dict[str, str]:
    """A resource's properties as CloudFormation sends them (e.g. to a custom resource), resolved."""
    defaults = {name: p.get("Default") for name, p in template.get("Parameters", {}).items()}
    properties = template["Resources"][resource]["Properties"]
    return {
        name: _resolve(value, {**defaults, **parameters}, resources) for name, value in properties.items()
    }


def _resolve(value: Any, parameters: dict[str, Any], resources: dict[str, str]) -> str:
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name in parameters:
            if parameters[name] is None:
                raise KeyError(f"parameter {name} has no default: the test must give a value")
            return str(parameters[name])
        return resources[name]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_resolve(part, parameters, resources) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        key = target if isinstance(target, str) else ".".join(target)
        return resources[key]
    if isinstance(value, dict):
        raise ValueError(f"unsupported intrinsic in a function environment: {value}")
    return str(value)
