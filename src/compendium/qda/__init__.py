"""Exchanging codings with qualitative data analysis (QDA) tools.

- ``importer``: ``compendium import``: recognise an export and write a dataset;
- ``refi``: read a REFI-QDA project (``.qdpx`` archive, ``.qde`` file or folder);
- ``csv_formats``: read Taguette highlights and QualCoder coded-text CSV exports;
- ``mapping``: turn what was read into the canonical tables;
- ``refi_export``: ``compendium export``: write a dataset as a REFI-QDA project;
- ``offsets``: the ways tools count character positions, and conversions;
- ``safety``: limits and defences for reading untrusted archives and XML;
- ``model``: the intermediate model the readers share.
"""
