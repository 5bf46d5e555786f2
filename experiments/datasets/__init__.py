"""Offline data: sets bundled in installed packages and synthetic generators. Nothing downloads.

Every loader takes ``path=`` to read the same data from a user file instead.
"""
from experiments.datasets.mil import Bags, make_bags, split_instances
from experiments.datasets.synthetic import random_patterns
from experiments.datasets.tabular import TABULAR_SETS, load_tabular
from experiments.datasets.text import CharCorpus, load_char_corpus
