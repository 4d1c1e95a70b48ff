"""Version of this package; integrations compare it against CodeCarbon 3.x."""

__app_name__ = "codecarbon"
__version__ = "3.4.0"
