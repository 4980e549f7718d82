"""handouts: reviewed scar-treatment content to branded, printable PDF leaflets."""

__version__ = "0.1.0"
