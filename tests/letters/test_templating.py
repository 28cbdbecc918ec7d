"""The template language is safe for staff: unknown fields and escapes are refused on save."""

from __future__ import annotations

import pytest
from django_scopes import scope

from letters import services
from letters.models import LetterTemplate
from letters.templating import TemplateRefused, body_render, empty_fields, template_check


@pytest.mark.parametrize(("body", "message"), [
    ("Dear {{ pupil.nickname }}", "'pupil.nickname' is not a merge field"),
    ("{{ secret_key }}", "'secret_key' is not a merge field"),
    ("{{ settings.SECRET_KEY }}", "'settings' is not a merge field"),
    ("{{ pupil.__class__ }}", "'__class__' is not a merge field"),
    ("{{ pupil.name.__class__.__mro__ }}", "is not a merge field"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "cannot call anything"),
    ("{{ lipsum.__globals__ }}", "is not a merge field"),
    ("{{ cycler.__init__.__globals__.os }}", "is not a merge field"),
    ("{{ pupil.name.upper() }}", "cannot call anything"),
    ("{{ pupil['name'] }}", "square brackets"),
    ("{% include '/etc/passwd' %}", "cannot be used in a letter"),
    ("{% import 'x' as y %}", "cannot be used in a letter"),
    ("{% set x = 1 %}", "cannot be used in a letter"),
    ("{% macro m() %}x{% endmacro %}", "cannot be used in a letter"),
    ("{{ pupil.name|attr('__class__') }}", "'attr' is not available"),
    ("{{ pupil }}", "needs a part"),
    ("{% for s in pupil %}{{ s }}{% endfor %}", "only go over {{ sessions }}"),
    ("{% for s in sessions %}{{ s.mark_id }}{% endfor %}", "A session has no 'mark_id'"),
    ("{{ pupil.name", "Line 1"),
])
def test_refused_templates_say_why(body, message):
    with pytest.raises(TemplateRefused) as caught:
        template_check(body)
    assert any(message in m for m in caught.value.messages), caught.value.messages


def test_a_good_template_lists_the_fields_it_uses():
    used = template_check("{{ parent.salutation }} {% if figures.days_missed %}{{ figures.days_missed }}{% endif %}"
                          "{% for s in sessions %}{{ s.date }} {{ s.code }}{% endfor %}{{ sessions_table }}")
    assert used == {("parent", "salutation"), ("figures", "days_missed"), ("sessions", ""), ("sessions_table", "")}


def test_empty_fields_are_warned_about():
    used = template_check("{{ meeting.date }} {{ pupil.name }} {{ school.headteacher }}")
    data = {"meeting": {"date": ""}, "pupil": {"name": "Amira"}, "school": {"headteacher": None}}
    assert empty_fields(used, data) == ["meeting.date", "school.headteacher"]


def test_staff_html_is_shown_as_text_and_tables_are_built_from_data():
    data = {"pupil": {"name": "<script>x</script>"}, "sessions": [
        {"date": "Wed 10 Sep 2025", "session": "Morning", "code": "O", "meaning": "Unauthorised <b>"}]}
    out = body_render(subject="{{ pupil.name }}", body="<b>Hello</b> {{ pupil.name }}\n\n{{ sessions_table }}\n\n"
                      "- one\n- two", data=data)
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html and "&lt;b&gt;Hello" in out.html
    assert '<table class="sessions">' in out.html and "Unauthorised &lt;b&gt;" in out.html
    assert "<ul><li>one</li><li>two</li></ul>" in out.html
    assert out.subject == "<script>x</script>"  # the subject is plain text, escaped again wherever shown


def test_sandbox_refuses_at_render_time_too():
    with pytest.raises(TemplateRefused):
        body_render(subject="x", body="{{ pupil.__class__ }}", data={"pupil": {"name": "A"}})
    with pytest.raises(TemplateRefused):
        body_render(subject="x", body="{{ nothing.here }}", data={})


def test_saving_refuses_and_writes_nothing(lw):
    with scope(school=lw.school):
        with pytest.raises(TemplateRefused) as caught:
            services.template_save(school=lw.school, kind="stage_1", subject="{{ pupil.shoe_size }}",
                                   body="{{ config.items() }}", by=lw.officer)
        assert caught.value.messages == ["Subject: 'pupil.shoe_size' is not a merge field.",
                                         "Letter: Letters can show merge fields but cannot call anything "
                                         "(no brackets after a field)."]
        assert LetterTemplate.objects.filter(school=lw.school).count() == 1


def test_saving_makes_a_new_version_and_keeps_the_old(lw):
    with scope(school=lw.school):
        new = services.template_save(school=lw.school, kind="stage_1", subject="About {{ pupil.forename }}",
                                     body="Hello {{ parent.name }}", by=lw.officer)
        assert new.version == 2 and LetterTemplate.objects.get(pk=lw.template.pk).body == lw.template.body
