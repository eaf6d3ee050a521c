"""The web: check each source URL (one GET, politely, safely, with retries) and classify the
answer.
"""
