"""summitpad: collaborative notes pads for design summits."""

__version__ = "0.1.0"
