"""Events: find the event files, load and validate them, and apply the tier rules (and the
pull-request gate's rules).
"""
