"""History: observations and archive records across nights, each URL's status, what is due
tonight, the run lock.
"""
