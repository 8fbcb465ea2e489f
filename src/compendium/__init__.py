"""Reproducible research compendium for the ICT regional-clusters study.

The package is organised in floors, in the order data flow through it (the package map,
``src/compendium/README.md``, says what each module owns and may import):

- foundations: ``errors``, ``fileio`` (atomic writes, hashing), ``userfile`` (reading a
  user's file), ``importgraph``, ``layout`` (every build path), ``formatting``;
- ``dataset``: the descriptor, tables, validation, design, anonymity and generators;
- ``qda``: import from and export to QDA tools (REFI-QDA, Taguette, QualCoder);
- ``analysis``: pure functions over tidy DataFrames;
- ``displays``: figures, tables and sentences made from analysis results;
- ``classroom``: the coding exercise (session, widget, class view, nbgrader course);
- ``steps``: what each notebook run decides, captions and values;
- ``pipeline``: the run registry, make rules, notebook runs, the paper, site and crate;
- ``cli``, ``bench``, ``fuzz``: the entry points.
"""

__version__ = "0.1.0"
