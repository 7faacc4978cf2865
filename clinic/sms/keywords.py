"""What a patient's reply means: kept for callers; the rules live in clinic/sms/triage.py."""

from __future__ import annotations

from clinic.sms.triage import Intent, Level, Triage, classify, triage

__all__ = ["Intent", "Level", "Triage", "classify", "triage"]
