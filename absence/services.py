"""Writes for parent absence reports, leave requests, first-day follow-up and N-code resolution."""
