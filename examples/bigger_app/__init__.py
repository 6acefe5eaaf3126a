"""A bigger application in several files, FastAPI's layout: ``main.py`` makes the app
and includes the routers of ``routers/`` and ``internal/``; ``dependencies.py`` holds
what they share.

Run it from the ``examples`` folder: ``python -m bigger_app.main``, or ``fastrapi run
bigger_app.main:app``.
"""
