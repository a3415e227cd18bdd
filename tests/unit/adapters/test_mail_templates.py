"""Email templates: every kind renders, partner data is never taken as HTML, a subject stays one
line, a deployment overrides a template file by file, and a broken override is a configuration
error at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.adapters.mail_templates import TEMPLATES, JinjaComposer
from gateway.bootstrap import bootstrap
from gateway.config import GatewayConfig, MailSettings
from gateway.errors import ConfigurationError
from gateway.service.notify import sample_data

HOSTILE = '<script>alert("x")</script> & <b>Bold</b> Co.'


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_with_hostile_partner_data_escaped_in_html(template: str):
    subject, text, html = JinjaComposer().compose(template, sample_data(HOSTILE)[template])
    assert "<script>" not in html and "<b>Bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Bold&lt;/b&gt;" in html
    assert HOSTILE in text  # the plain text part shows it as it is
    assert "\n" not in subject and subject.strip() == subject
    assert html.lstrip().startswith("<!DOCTYPE html>")


def test_a_newline_in_partner_data_never_reaches_the_subject_as_a_header():
    data = sample_data("Harborview\r\nBcc: everyone@example.com")
    subject, _, _ = JinjaComposer().compose("cancellation", data["cancellation"])
    assert "\n" not in subject and "\r" not in subject
    assert "Harborview Bcc: everyone@example.com" in subject


def test_a_deployment_overrides_one_template_and_keeps_the_others(tmp_path: Path):
    (tmp_path / "alert.subject.txt").write_text("ALERT: {{ title }}")
    composer = JinjaComposer(tmp_path)
    data = sample_data("Quarantined")
    assert composer.compose("alert", data["alert"])[0] == "ALERT: Quarantined"
    subject = composer.compose("cancellation", data["cancellation"])[0]
    assert subject.startswith("Order Quarantined:")  # the shipped one


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{% if %}", "alert.txt, line 1"),
        ("{{ no_such_value }}", "'no_such_value' is undefined"),
    ],
)
def test_a_broken_override_is_a_configuration_error_naming_it(
    tmp_path: Path, content: str, message: str
):
    (tmp_path / "alert.txt").write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        JinjaComposer(tmp_path).check(sample_data())


def test_the_gateway_refuses_to_start_with_a_broken_override(tmp_path: Path):
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "cancellation.html").write_text("{% for %}")
    config = GatewayConfig(data_dir=tmp_path, mail=MailSettings(templates_dir=overrides))
    with pytest.raises(ConfigurationError, match=r"cancellation\.html, line 1"):
        bootstrap(config)
