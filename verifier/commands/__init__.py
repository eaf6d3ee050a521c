"""Commands: one module per entry point (check, run, archive, schedule), composing
``verifier.stages``.
"""
