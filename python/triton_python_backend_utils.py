"""Triton's ``triton_python_backend_utils`` under its own name, so a Triton ``model.py`` that does
``import triton_python_backend_utils as pb_utils`` runs unchanged on Cranberries."""
from cranberries_backend.pb_utils import *  # noqa: F401,F403
from cranberries_backend.pb_utils import __all__  # noqa: F401
