"""Runnable examples of nornir-nb-ifsync, and the demo (``python -m examples.demo``)."""
