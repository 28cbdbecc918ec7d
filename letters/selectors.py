"""Reads for letters sent and waiting."""
