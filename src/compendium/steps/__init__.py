"""Steps: what each notebook run decides, its captions and the values the paper quotes.

One module per notebook, named after its file (``05-saturation.ipynb`` ->
``saturation``); a notebook imports its own module only, which re-exports
``start_run`` from `notebook`. `artefacts` (``RunOutputs``) is what every run
shares, and `common` holds the helpers several notebooks' steps use.
"""
