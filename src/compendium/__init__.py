"""Reproducible research compendium for the ICT regional-clusters study.

The package is organised by what each module does:

- ``dataset``: loading a dataset folder and validating it completely;
- ``datapackage``: the Frictionless descriptor, table schemas and resource hashes;
- ``synthetic``: the seeded generator of the demonstration dataset;
- ``analysis``: pure functions over tidy DataFrames (frequencies, matrices,
  comparison, co-occurrence, saturation, agreement, data structure);
- ``figures`` and ``tables``: displays built from analysis results;
- ``artefacts``: how notebooks save figures, tables and values with provenance;
- ``layout``: where the build puts everything (paths and step names);
- ``fileio``: atomic writes and sha256 hashing, used by every writer;
- ``pipeline``: the run registry, make rules, notebook runs, and the paper and site.
"""

__version__ = "0.1.0"
