"""Uploads from the office's page: stored files, a batch row, the import run by a task with its progress."""

from __future__ import annotations

import functools
import logging

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from attendance_portal.models import School, User
from attendance_portal.permissions import can
from attendance_portal.queueing import task_send

from ..models import (
    ImportBatch,
)
from .records import MARKS_CSV, PUPILS_CSV, SCHOOL_JSON, ImportFiles, ImportRejected
from .write import school_import

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- upload batches

BATCH_FILES = {"school_json": SCHOOL_JSON, "pupils_csv": PUPILS_CSV, "marks_csv": MARKS_CSV}


def _progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


def import_batch_progress(*, batch: ImportBatch) -> int:
    """Percent done. While the import's transaction is open its row cannot show progress, so the cache does."""
    if batch.status != ImportBatch.Status.RUNNING:
        return batch.progress
    return max(batch.progress, int(cache.get(_progress_key(batch.pk)) or 0))


def import_batch_create(*, school: School, by: User | None, uploads: dict[str, UploadedFile | None]) -> ImportBatch:
    """Record the batch first, keep its files under MEDIA_ROOT/imports/<school>/<batch>/, run it after commit."""
    batch = ImportBatch.objects.create(school=school, created_by=by, source="upload")
    stored = {}
    for key, name in BATCH_FILES.items():
        upload = uploads.get(key)
        if upload is not None:
            upload.seek(0)
            stored[key] = default_storage.save(f"imports/{school.slug}/{batch.pk}/{name}", upload)
    batch.files = stored
    batch.save(update_fields=["files"])
    from ..tasks import import_batch_task

    transaction.on_commit(functools.partial(task_send, import_batch_task, school_id=school.pk, batch_id=batch.pk))
    return batch


def import_batch_run(*, school: School, batch_id: int) -> ImportBatch | None:
    """Run one uploaded batch. Safe to repeat: a finished batch is left alone, and re-running an
    interrupted one is harmless because the import is all-or-nothing and re-importing is a no-op."""
    Status = ImportBatch.Status
    claimed = ImportBatch.objects.filter(pk=batch_id, school=school, status__in=[Status.PENDING, Status.RUNNING]) \
        .update(status=Status.RUNNING, progress=5, errors=[])
    if not claimed:
        return None
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id, school=school)

    def progress(pct: int) -> None:
        cache.set(_progress_key(batch_id), pct, timeout=6 * 3600)
        if not connection.in_atomic_block:
            ImportBatch.objects.filter(pk=batch_id, school=school).update(progress=pct)

    done = {"status": Status.DONE, "progress": 100, "finished_at": timezone.now()}
    try:
        files = ImportFiles(**{key: _read_stored(batch.files.get(key)) for key in BATCH_FILES})
        importer = batch.created_by
        summary = school_import(files=files, school=school, by=importer, progress=progress,
                                write_sensitive=importer is not None and can(importer, "view_sensitive", school))
    except ImportRejected as exc:
        done.update(status=Status.FAILED, errors=[p.as_dict() for p in exc.problems],
                    summary={"problems": exc.total})
    except Exception:
        logger.exception("import batch %s for school %s stopped", batch_id, school.pk)
        done.update(status=Status.FAILED, summary={"problems": 1}, errors=[{
            "file": "", "line": None,
            "message": "The import stopped unexpectedly and nothing was written. Try again; if it happens "
                       "again, contact support with the batch number."}])
        ImportBatch.objects.filter(pk=batch_id, school=school).update(**done)
        raise
    else:
        done["summary"] = summary.counts
    ImportBatch.objects.filter(pk=batch_id, school=school).update(**done)
    cache.delete(_progress_key(batch_id))
    batch.refresh_from_db()
    return batch


def _read_stored(name: str | None) -> bytes | None:
    if not name:
        return None
    with default_storage.open(name, "rb") as handle:
        return handle.read()
