"""Demo catalogue and roster data."""
