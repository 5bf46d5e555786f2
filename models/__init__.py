"""Flax linen modules of the zoo, one package per paper.

Import a paper's package directly (``from models.hopfield import Hopfield``); nothing here pulls in
experiment machinery (absl, ml_collections, matplotlib, dataset loaders).
"""
