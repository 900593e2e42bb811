"""maxnas: hardware-aware neural-architecture search for MAX78000 / MAX78002 U-Nets."""

__version__ = "0.1.0"
