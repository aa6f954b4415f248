"""diskimage."""
