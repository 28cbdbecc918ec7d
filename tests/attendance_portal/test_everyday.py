"""Defects found trying the product as each role would (issue 16): the port `make run` takes, the
platform administrator's landing page, a primary school's year groups, the site icon."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from attendance_portal.devstack import _free_port
from tests import factories as f


def test_preferred_port_in_time_wait_is_still_taken():
    """`PORT=8100 make run` right after stopping a run: the port is in TIME_WAIT, not in use."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.listen(1)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first, so its end of the connection waits in TIME_WAIT
    server.close()
    client.close()
    assert _free_port(port) == port


def test_busy_preferred_port_gives_the_next_free_one():
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        got = _free_port(port)
    finally:
        holder.close()
    assert port < got <= port + 20


@pytest.mark.django_db
def test_platform_administrator_is_sent_to_the_admin(client_as):
    admin = f.UserFactory(username="platform", is_staff=True, is_superuser=True)
    response = client_as(admin).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("platform_admin:index")


@pytest.mark.django_db
def test_platform_administrator_with_a_school_also_sees_the_admin(world, client_as):
    head = world.users["headteacher"]
    head.is_staff = True
    head.save()
    f.MembershipFactory(user=head, school=world.sister, role="headteacher")
    page = client_as(head).get(reverse("home")).content.decode()
    assert "Platform administration" in page


@pytest.mark.django_db
def test_primary_register_times_list_only_primary_year_groups(world, client_as):
    world.school.phase = "primary"
    world.school.save()
    page = client_as(world.users["headteacher"]).get(
        reverse("registers:session_times", args=[world.school.slug])).content.decode()
    assert "Reception" in page and "Year 6" in page
    assert "Year 7" not in page and "Year 14" not in page


@pytest.mark.django_db
def test_secondary_keeps_a_year_group_it_already_uses(world, client_as):
    world.school.phase = "secondary"
    world.school.save()
    f.PupilFactory(school=world.school, year_group="6")
    page = client_as(world.users["headteacher"]).get(
        reverse("registers:session_times", args=[world.school.slug])).content.decode()
    assert "Year 6" in page and "Year 11" in page and "Reception" not in page


@pytest.mark.django_db
def test_favicon_is_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_a_person_is_named_by_full_name_else_username_the_same_from_a_user_or_a_row():
    from attendance_portal.models import User

    assert User(first_name="Ada", last_name="Hale", username="ahale").display_name() == "Ada Hale"
    assert User(first_name="", last_name="Hale", username="ahale").display_name() == "Hale"
    assert User(first_name="", last_name="", username="ahale").display_name() == "ahale"
    assert User.name_from("Ada", None, "ahale") == "Ada"
    assert User.name_from(None, None, None) == ""  # a row with no person: the caller says what to show
