"""Delete a project's data in the safe order, verify what is left, and sign a receipt (DESIGN.md §5)."""
