"""Adding, changing and removing a pupil's contacts, including parent-portal accounts."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled

from registers.models import Guardian, PupilContact
from tests import factories as f

from .conftest import counts

pytestmark = pytest.mark.django_db

GOOD = {"forename": "Mary", "surname": "Somerville", "relationship": "Mother", "parental_responsibility": "on",
        "lives_with_pupil": "on", "phone": "01632 960123", "email": "mary@example.org", "priority": "1"}


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_add_a_contact(adm, world, client_as):
    client = client_as(world.users["office_staff"])
    url = adm.url("contact_add", pupil_id=adm.pupil.pk)
    assert 'for="id_relationship"' in text(client.get(url))
    response = client.post(url, {**GOOD, "lives_with_pupil": ""})
    assert response.status_code == 302
    with scope(school=adm.school):
        contact = PupilContact.objects.select_related("guardian").get(pupil=adm.pupil)
    assert contact.school == adm.school and contact.guardian.school == adm.school
    assert (contact.guardian.forename, contact.relationship, contact.parental_responsibility,
            contact.lives_with_pupil, contact.guardian.phone, contact.priority) == (
        "Mary", "Mother", True, False, "01632 960123", 1)


BAD_CONTACT = [
    ("forename", "", "Give the contact's forename."),
    ("surname", "", "Give the contact's surname."),
    ("surname", "   ", "Give the contact's surname."),
    ("relationship", "", "Say how the contact is related to the pupil"),
    ("phone", "call me", "Give a phone number of digits and spaces"),
    ("phone", "123", "Give a phone number of digits and spaces"),
    ("email", "mary@", "Give an email address like name@example.org."),
    ("priority", "0", "Priority is a whole number from 1 to 9."),
    ("priority", "10", "Priority is a whole number from 1 to 9."),
    ("priority", "first", "Priority is a whole number from 1 to 9."),
    ("priority", "", "Give a priority from 1 to 9."),
    ("postcode", "12345", "Give a UK postcode, for example RB1 4DX."),
    ("address", "1 Mill Lane", "Give the postcode with the address."),
    ("postcode", "RB1 4DX", "Give the house and street with the postcode."),
    ("address", "\n".join(["a line"] * 7), "An address has at most 6 lines"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_CONTACT, ids=lambda v: str(v)[:30])
def test_add_contact_refuses_bad_input(adm, world, client_as, field, value, message):
    before = counts(adm.school)
    response = client_as(world.users["headteacher"]).post(adm.url("contact_add", pupil_id=adm.pupil.pk),
                                                          {**GOOD, field: value})
    assert response.status_code == 400
    assert message in text(response)
    assert counts(adm.school) == before


def test_a_contacts_postal_address_is_kept_with_the_postcode_as_the_royal_mail_writes_it(adm, world, client_as):
    client = client_as(world.users["office_staff"])
    response = client.post(adm.url("contact_add", pupil_id=adm.pupil.pk),
                           {**GOOD, "address": " 12 Mill Lane \r\n\r\nTowncester ", "postcode": "rb14dx"})
    assert response.status_code == 302
    with scope(school=adm.school):
        guardian = PupilContact.objects.select_related("guardian").get(pupil=adm.pupil).guardian
    assert (guardian.address, guardian.postcode) == ("12 Mill Lane\nTowncester", "RB1 4DX")
    assert guardian.address_lines == ["12 Mill Lane", "Towncester", "RB1 4DX"] and guardian.has_postal_address
    assert "12 Mill Lane, Towncester, RB1 4DX" in text(client.get(adm.url("pupil", pupil_id=adm.pupil.pk)))


def test_a_bad_postcode_on_a_change_keeps_the_old_address(adm, world, client_as, contact):
    with scopes_disabled():
        contact.guardian.address, contact.guardian.postcode = "3 Church Street\nTowncester", "RB2 5HL"
        contact.guardian.save()
    client = client_as(world.users["headteacher"])
    url = adm.url("contact_edit", contact_id=contact.pk)
    page = text(client.get(url))
    assert "3 Church Street" in page and 'value="RB2 5HL"' in page
    response = client.post(url, {**GOOD, "address": "9 Station Road", "postcode": "RB2"})
    assert response.status_code == 400 and "Give a UK postcode" in text(response)
    with scope(school=adm.school):
        guardian = Guardian.objects.get(pk=contact.guardian_id)
    assert (guardian.address, guardian.postcode) == ("3 Church Street\nTowncester", "RB2 5HL")


def test_a_contact_needs_a_phone_or_an_email(adm, world, client_as):
    before = counts(adm.school)
    response = client_as(world.users["headteacher"]).post(adm.url("contact_add", pupil_id=adm.pupil.pk),
                                                          {**GOOD, "phone": "", "email": ""})
    assert response.status_code == 400 and "Give a phone number or an email address" in text(response)
    assert counts(adm.school) == before


@pytest.fixture
def contact(adm):
    with scopes_disabled():
        return f.PupilContactFactory(pupil=adm.pupil, school=adm.school, guardian__forename="Anne",
                                     guardian__surname="Byron", relationship="Mother", priority=1)


def test_edit_a_contact(adm, world, client_as, contact):
    client = client_as(world.users["headteacher"])
    url = adm.url("contact_edit", contact_id=contact.pk)
    assert 'value="Anne"' in text(client.get(url))
    response = client.post(url, {**GOOD, "forename": "Annabella", "relationship": "Guardian", "priority": "2",
                                 "parental_responsibility": ""})
    assert response.status_code == 302
    with scope(school=adm.school):
        saved = PupilContact.objects.select_related("guardian").get(pk=contact.pk)
    assert (saved.guardian.forename, saved.relationship, saved.priority, saved.parental_responsibility) == (
        "Annabella", "Guardian", 2, False)


@pytest.mark.parametrize(("field", "value", "message"), BAD_CONTACT[:7], ids=lambda v: str(v)[:30])
def test_edit_contact_refuses_bad_input(adm, world, client_as, contact, field, value, message):
    response = client_as(world.users["headteacher"]).post(adm.url("contact_edit", contact_id=contact.pk),
                                                          {**GOOD, field: value})
    assert response.status_code == 400 and message in text(response)
    with scope(school=adm.school):
        saved = PupilContact.objects.select_related("guardian").get(pk=contact.pk)
    assert (saved.guardian.forename, saved.guardian.surname, saved.relationship) == ("Anne", "Byron", "Mother")


def test_remove_a_contact(adm, world, client_as, contact):
    client = client_as(world.users["office_staff"])
    url = adm.url("contact_remove", contact_id=contact.pk)
    page = text(client.get(url))
    assert "Remove Anne Byron as a contact for Ada Lovelace?" in page and "parent portal" not in page
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    with scope(school=adm.school):
        assert not PupilContact.objects.filter(pk=contact.pk).exists()
        assert not Guardian.objects.filter(pk=contact.guardian_id).exists()  # no other child, no account


def test_removing_a_portal_contact_asks_first(adm, world, client_as, contact):
    with scopes_disabled():
        parent = f.UserFactory(username="anne@example.org")
        contact.guardian.user = parent
        contact.guardian.save()
    client = client_as(world.users["headteacher"])
    url = adm.url("contact_remove", contact_id=contact.pk)
    page = text(client.get(url))
    assert "Anne Byron uses the parent portal" in page and "can no longer see Ada's attendance" in page
    refused = client.post(url, {})
    assert refused.status_code == 400 and "confirm the removal" in text(refused)
    with scope(school=adm.school):
        assert PupilContact.objects.filter(pk=contact.pk).exists()
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    with scope(school=adm.school):
        assert not PupilContact.objects.filter(pk=contact.pk).exists()
        # The account's link to the school stays for any other children; only this child is gone.
        assert Guardian.objects.get(pk=contact.guardian_id).user == parent


def test_a_shared_guardian_stays_for_the_sibling(adm, world, client_as, contact):
    with scopes_disabled():
        sibling = f.EnrolmentFactory(pupil__school=adm.school).pupil
        f.PupilContactFactory(pupil=sibling, school=adm.school, guardian=contact.guardian)
    assert client_as(world.users["headteacher"]).post(adm.url("contact_remove", contact_id=contact.pk),
                                                      {"confirm": "yes"}).status_code == 302
    with scope(school=adm.school):
        assert PupilContact.objects.filter(guardian=contact.guardian, pupil=sibling).exists()


@pytest.mark.parametrize("role", ["class_teacher", "attendance_officer", "governor", "trust_officer"])
def test_only_school_managers_change_contacts(adm, world, client_as, contact, role):
    client = client_as(world.users[role])
    before = counts(adm.school)
    for name, kwargs in (("contact_add", {"pupil_id": adm.pupil.pk}), ("contact_edit", {"contact_id": contact.pk}),
                         ("contact_remove", {"contact_id": contact.pk})):
        assert client.get(adm.url(name, **kwargs)).status_code == 403
        assert client.post(adm.url(name, **kwargs), {**GOOD, "confirm": "yes"}).status_code == 403
    assert counts(adm.school) == before


def test_another_schools_contact_is_404(adm, world, client_as):
    with scopes_disabled():
        theirs = f.PupilContactFactory(pupil__school=world.other)
    client = client_as(world.users["headteacher"])
    assert client.get(adm.url("contact_edit", contact_id=theirs.pk)).status_code == 404
    assert client.post(adm.url("contact_remove", contact_id=theirs.pk), {"confirm": "yes"}).status_code == 404
    with scope(school=world.other):
        assert PupilContact.objects.filter(pk=theirs.pk).exists()
