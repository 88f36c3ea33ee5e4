"""Issue #7's benchmark: our export/delete vs the official-SDK baseline vs the rate-limit floor (`python -m bench`)."""
