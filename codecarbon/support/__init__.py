"""Helpers shared by every layer (tracker, core, hardware, intensity, outputs); they import nothing above them."""
