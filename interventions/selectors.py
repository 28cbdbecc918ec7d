"""Reads for intervention queues."""
