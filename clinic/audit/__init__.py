"""The audit log: who did what to which visit or patient, when and from where.

Append-only. Services record an event inside their own transaction (``services.record``), so an
event exists exactly when the change it describes does; admins read the log at /admin/audit.
"""
