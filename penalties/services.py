"""Writes for the national penalty framework: notices to improve, penalty notices and the ledger.

Planned: threshold consideration tasks, notice to improve periods, and the per-parent, per-child
ledger (first £80/£160, second £160 within three years, third blocked).
"""
