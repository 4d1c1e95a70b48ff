"""The tracker's machinery: configuration, sampling thread and windows, units."""
