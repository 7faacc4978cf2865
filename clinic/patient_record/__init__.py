"""The desk's patient pages: search, the patient record, and contact edits."""
