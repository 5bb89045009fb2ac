"""Personalising a campaign template per recipient, in Jinja's immutable sandbox.

Templates are written by marketing users, so they run sandboxed: no attribute access to
anything unsafe, no mutation of what they are given. Each recipient's context is plain
data (their contact fields, account name) plus `link(url)`, which turns a URL into a
signed click-tracking redirect. The body is HTML (autoescaped); a plain-text part is made
by rendering the same template without escaping and with raw URLs.

An undefined variable is an error (`StrictUndefined`), found by `check_template` before
the first message goes out rather than as a blank in ten thousand emails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from salesops.domain.errors import InvalidInput


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined)


@dataclass(frozen=True)
class CompiledTemplate:
    subject: Any
    html: Any
    text: Any

    def render(self, context: Mapping[str, Any],
               link: Callable[[str], str]) -> tuple[str, str, str]:
        """(subject, html, text) for one recipient."""
        return (self.subject.render(context).strip(),
                self.html.render(context, link=link),
                self.text.render(context, link=lambda url: url))


def compile_template(subject: str | None, body: str) -> CompiledTemplate:
    try:
        return CompiledTemplate(subject=_env(False).from_string(subject or ""),
                                html=_env(True).from_string(body),
                                text=_env(False).from_string(body))
    except TemplateError as exc:
        raise InvalidInput(f"the template does not parse: {exc}", field="template",
                           code="invalid_template") from exc


def check_template(template: CompiledTemplate, sample: Mapping[str, Any]) -> None:
    """Render once with a sample recipient; raise InvalidInput saying what is wrong."""
    try:
        template.render(sample, link=lambda url: url)
    except TemplateError as exc:  # includes the sandbox's SecurityError
        raise InvalidInput(f"the template cannot be rendered: {exc}", field="template",
                           code="invalid_template") from exc
