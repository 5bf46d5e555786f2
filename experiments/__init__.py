"""Launcher, training library, configs, datasets, the ``reproduce`` runner and benchmarks.

Nothing in ``models``, ``kernels`` or ``theory`` imports this package.
"""
