"""Writes for intervention cases: opening cases from signals, stages, meetings, attendance contracts.

Planned: cases raised from `reporting` signals (below threshold, persistent and severe absence,
punctuality, N overdue, continuous absence, illness, penalty threshold) and worked by officers.
"""
