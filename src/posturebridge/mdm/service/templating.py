"""Templates of workflow actions and custom connectors: ``{{ device.entraDeviceId }}``,
``{{ sensors.bitlocker_status }}``, ``{{ compliance.state }}``, ``{{ trigger.sensorsCompliant | tojson }}``.

Rendered by Jinja2's sandboxed environment with strict undefined values: a missing variable (or one
without a value) is an error that names it, never an empty string or "None" sent to a partner, and a
template can read the values it is given
but not reach Python (attribute walks such as ``__class__`` raise a security error). Templates are
checked when a rule or connector is saved and compiled once per text.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from posturebridge.mdm.domain.errors import FieldError, ValidationError


def _no_none(value: Any) -> Any:
    """``{{ device.entraDeviceId }}`` of an unregistered device is an error, never the text "None"."""
    if value is None:
        raise ValueError(
            "an expression has no value (None), e.g. a device not registered in Entra; "
            "add | default('…', true) where a value may be missing"
        )
    return value


_ENVIRONMENT = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_no_none
)


class TemplateRenderError(Exception):
    """A template could not be rendered with the values at hand (the message says which and why)."""


@lru_cache(maxsize=512)
def _compile(text: str) -> Template:
    return _ENVIRONMENT.from_string(text)


def check(templates: Mapping[str, str]) -> None:
    """``ValidationError`` naming every template (by its path) that does not parse."""
    errors = []
    for path, text in templates.items():
        try:
            _compile(text)
        except TemplateSyntaxError as exc:
            errors.append(FieldError(path, f"template error on line {exc.lineno}: {exc.message}"))
    if errors:
        raise ValidationError(errors)


def render(text: str, variables: Mapping[str, Any], *, what: str = "template") -> str:
    try:
        return _compile(text).render(**variables)
    except UndefinedError as exc:
        raise TemplateRenderError(f"{what}: {exc.message}; available: {', '.join(sorted(variables))}") from exc
    except SecurityError as exc:
        raise TemplateRenderError(f"{what}: refused by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise TemplateRenderError(f"{what}: {exc.message or exc}") from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateRenderError(f"{what}: {exc}") from exc
