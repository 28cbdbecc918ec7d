"""Writes for penalty notices: notices to improve, penalty notices and the per-parent, per-child ledger.

The amounts, periods and limits are never written here: they are the `NationalFramework` row in force
on the day (see `penalties.selectors.framework_on`).
"""
