"""Carbon intensity of the electricity where the computation runs."""
