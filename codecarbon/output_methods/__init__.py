"""Where finished measurements go: CSV, loggers, metrics systems, reports and web services."""
