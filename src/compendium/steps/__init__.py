"""Steps: what each notebook run decides, its captions and the values the paper quotes.

Each notebook calls its steps module; `notebook` (``start_run``) and `artefacts`
(``RunOutputs``) are what every run shares.
"""
