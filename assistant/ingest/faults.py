"""Named write steps where a test can make the process die: ``fault_point(name)``.

Every step that writes the corpus folder (an upload) or the index folder (a build, which also runs
for every document added or removed) calls ``fault_point`` with its name. When the environment
variable ``ASSISTANT_FAULT_AT`` equals that name the process ends at once with ``os._exit(FAULT_EXIT)``:
no cleanup, no ``finally``, no flush, like a kill at exactly that moment. Otherwise it costs one
environment lookup. ``tests/test_faults.py`` dies at every step in turn and checks that the next
open serves exactly the old or the new index.

It lives in the lowest stage that writes (ingest writes the corpus, index imports ingest), so both
can call it without an upward import.
"""

from __future__ import annotations

import os

FAULT_ENV = "ASSISTANT_FAULT_AT"
FAULT_EXIT = 86  # exit status of a process stopped by an injected fault

# Every step, in the order a document upload reaches them.
UPLOAD_POINTS = (
    "upload_tmp_written",      # corpus/.upload-*: written and fsynced, not yet renamed
    "upload_renamed",          # corpus/<name> in place; the index not yet rebuilt
)
BUILD_POINTS = (
    "build_locked",            # the index lock taken, nothing written (a removed file is already gone)
    "version_tmp_created",     # index/.tmp-v-*/ created, empty
    "version_files_written",   # every data file written in the temporary folder, no manifest yet
    "version_manifest_written",  # manifest.json written, files not yet fsynced
    "version_synced",          # the temporary folder fsynced, not yet renamed
    "version_renamed",         # index/v-*/ in place, CURRENT still names the old version
    "pointer_tmp_written",     # index/.tmp-CURRENT-* written and fsynced, not yet renamed
    "pointer_replaced",        # CURRENT names the new version; the old one not yet removed
    "stale_version_removed",   # one stale folder (the old version) deleted, others maybe not
    "build_written",           # the build is complete, stale folders removed
)
FAULT_POINTS = UPLOAD_POINTS + BUILD_POINTS
# From this step on the new index is live (``CURRENT`` names it).
FIRST_LIVE_POINT = "pointer_replaced"


def fault_point(name: str) -> None:
    """End the process here (``os._exit(FAULT_EXIT)``) when ``ASSISTANT_FAULT_AT`` is ``name``."""
    if os.environ.get(FAULT_ENV) == name:
        os._exit(FAULT_EXIT)
