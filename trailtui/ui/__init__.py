"""The explorer (everything that imports textual is in this package).

Textual draws at most 60 frames a second unless told: a change waits up to 17 ms for its
frame. The explorer asks for 120 (a filter's first window on screen ~15 ms sooner, median,
in bench/tui.py); frames are only drawn when something changed, so an idle explorer costs
nothing more. TEXTUAL_FPS set by the user (e.g. 30 over a slow link) is kept. Set here,
before any module of the package imports textual, which reads it once.
"""

import os

os.environ.setdefault("TEXTUAL_FPS", "120")
