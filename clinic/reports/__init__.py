"""Reports: the printable day sheet and the period figures, with charts and a CSV."""
