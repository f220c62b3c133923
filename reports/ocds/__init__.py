"""Open data in the Open Contracting Data Standard 1.1 (supervision-and-interop.md §8): release
packages per batch and stage, the compiled record, and their validation (schema.py)."""

from reports.ocds.build import STAGES, Publisher, ocid, release_package
from reports.ocds.record import compile_releases, record_package
from reports.ocds.schema import problems

__all__ = ["STAGES", "Publisher", "compile_releases", "ocid", "problems", "record_package", "release_package"]
