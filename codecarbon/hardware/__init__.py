"""Energy sources, one module per kind of hardware, behind the interface in ``base.py``."""
