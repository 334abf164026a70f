"""``collector serve`` and ``collector export`` (issue 6)."""
