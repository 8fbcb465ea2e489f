"""Displays: the paper's figures and tables, and sentences generated from results.

Made from analysis results and worded with the dataset's design; nothing here computes a
statistic or reads a dataset file.
"""
