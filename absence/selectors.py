"""Reads for absence follow-up: incoming reports, unexplained absences, aged N codes."""
