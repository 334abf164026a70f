"""``collector schedule``, ``run``, ``feed`` and ``notify`` (issue 5)."""
