"""PostgreSQL with the tenant scope carried to the database (see `attendance_portal.rls`)."""
