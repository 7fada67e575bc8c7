"""Cranberries' Python backend: the stub process that runs one model instance.

The server starts ``python3 -m cranberries_backend.stub`` once per model instance and talks to it
over two extra pipes (file descriptors 3 and 4); see ``wire.py`` for the framing.
"""
