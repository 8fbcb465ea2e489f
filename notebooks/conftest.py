"""Notebooks run by nbval are not watched: no widgets, worked examples instead.

``tests/conftest.py`` sets the same when the whole suite runs; this covers
``pytest --nbval notebooks`` on its own (see compendium.classroom.is_headless).
"""

import os

os.environ["COMPENDIUM_HEADLESS"] = "1"
