"""The onboarding import: a school's calendar, pupils, admission register and mark history from three files.

`school_import` is the one engine behind `manage.py load_school` and the office upload page. It runs in
three steps so that a bad file never leaves half a school behind:

1. parse every file with no database access, collecting every problem with its file and line;
2. inside one transaction (holding an advisory lock for the school), compare the files with what the
   school already has and check every mark against the calendar and the admission register that
   *will* exist after the import;
3. only if nothing was wrong, write — calendar, pupils and enrolments in bulk, then marks through
   `registers.services.marks_save` in chunks (source "import", reason "imported").

Any problem raises `ImportRejected` and the transaction rolls back, so nothing is written. Rows that
already hold the same values are left alone, which makes re-importing the same files a no-op; a later
marks file turns each changed mark into an amendment with the reason "imported".

The package follows those steps: `records` (file names, columns, problems, the parsed records and the
plan), `parse` (step 1), `plan` (step 2), `write` (step 3 and `school_import`) and `batches` (the upload
page's stored files and task).
"""

from __future__ import annotations

from .batches import import_batch_create, import_batch_progress, import_batch_run
from .records import (
    FILE_NAMES,
    MARK_COLUMNS,
    PUPIL_COLUMNS,
    ImportFiles,
    ImportProblem,
    ImportRejected,
    ImportSummary,
)
from .write import school_import

__all__ = ["FILE_NAMES", "MARK_COLUMNS", "PUPIL_COLUMNS", "ImportFiles", "ImportProblem", "ImportRejected",
           "ImportSummary", "import_batch_create", "import_batch_progress", "import_batch_run", "school_import"]
