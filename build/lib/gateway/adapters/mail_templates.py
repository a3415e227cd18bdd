"""Email templates: Jinja2 files a deployment can override one by one.

Each email is three files: `<name>.subject.txt`, `<name>.txt` (the plain text part) and
`<name>.html`. The shipped ones are in `gateway/adapters/templates/mail/`; a file of the same name
in `[mail] templates_dir` replaces it. The HTML files are rendered with autoescaping on, so a
partner's name, a PO number or a line's description is always text, never markup; the plain text
files are rendered without it (escaping there would show `&amp;` to the reader); a subject is made
one line (a newline in data can never start a new header). A template that is missing, broken or
names a value the data does not have is a configuration error naming the file, found by `check`
at start-up rather than when the first email is due.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from gateway.errors import ConfigurationError

SHIPPED = Path(__file__).resolve().parent / "templates" / "mail"
TEMPLATES = ("cancellation", "order-received", "alert")


class JinjaComposer:
    """Renders the email templates (see the module docstring)."""

    def __init__(self, override: Path | None = None):
        folders = [str(override)] if override is not None else []
        loader = jinja2.FileSystemLoader([*folders, str(SHIPPED)])
        self._text = _environment(loader, autoescape=False)
        self._html = _environment(loader, autoescape=True)

    def compose(self, template: str, data: dict[str, object]) -> tuple[str, str, str]:
        subject = self._render(self._text, f"{template}.subject.txt", data)
        text = self._render(self._text, f"{template}.txt", data)
        html = self._render(self._html, f"{template}.html", data)
        return " ".join(subject.split()), text, html

    def check(self, samples: dict[str, dict[str, object]]) -> None:
        """Render every template with sample data (`samples[name]`): a broken override is a
        ConfigurationError now, not when its first email is due."""
        for name in TEMPLATES:
            self.compose(name, samples[name])

    @staticmethod
    def _render(environment: jinja2.Environment, name: str, data: dict[str, object]) -> str:
        try:
            return environment.get_template(name).render(data)
        except jinja2.TemplateNotFound:
            raise ConfigurationError(f"email template {name} not found") from None
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigurationError(
                f"email template {exc.filename or name}, line {exc.lineno}: {exc.message}"
            ) from None
        except jinja2.UndefinedError as exc:
            raise ConfigurationError(f"email template {name}: {exc.message}") from None


def _environment(loader: jinja2.BaseLoader, *, autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=loader,
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
