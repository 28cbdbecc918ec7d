"""Background work for staff management: the sweeper that sends invitations a stopped worker left unsent."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="staff.invitations_sweep", acks_late=True)
def invitations_sweep() -> int:
    """Send every invitation whose e-mail has not gone; each send is claimed by compare-and-set, so a
    sweep running twice, or beside the request's own send, sends each invitation once."""
    return sum(1 for pk in services.invitations_unsent() if services.invitation_send(invitation_id=pk))
