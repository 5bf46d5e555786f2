"""Pallas kernels with their XLA references, and other fast numeric primitives.

Each op is a package (``reference.py``, ``xla.py``, ``pallas.py``, ``api.py``, ``config.py``,
``bench.py``); ``kernels.common`` holds what several ops share, such as the benchmark timer.
"""
