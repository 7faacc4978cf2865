"""The waitlist: patients who want a service sooner are offered a freed time by text.

A visit that frees its time (cancelled, declined, moved away) leaves an opening, written in the
same transaction as the change; each dispatcher pass offers open openings to matching entries,
oldest first, expires offers that were not taken and passes the time on. The first patient to
take an offer books it through the booking services, under the booking write lock.
"""
