"""verifier: keeps the sources of an evidence-based timeline alive, archived and honest."""

__version__ = "0.1.0"
