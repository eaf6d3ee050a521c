"""Reports: fold what was found into event reports, and render and write them (JSON, Markdown,
HTML, CI formats).
"""
