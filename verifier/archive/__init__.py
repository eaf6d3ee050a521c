"""Archiving: verify archive links, look captures up, request new ones (Save Page Now), write
archive_url fixes back.
"""
