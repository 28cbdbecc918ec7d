"""Reads for penalty notices and the national framework configuration."""
