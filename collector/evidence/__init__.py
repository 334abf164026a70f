"""Evidence: the archive's signing key, ledger checkpoints against it, and signed evidence packages."""
