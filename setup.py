"""Builds the zoo under one distinctive namespace: ``jax_zoo.models``, ``jax_zoo.kernels``, ``jax_zoo.theory`` and
``jax_zoo.experiments``.

The repository keeps its four top-level folders and imports them by their short names (``import models.hopfield``)
during development (``./zoo`` puts the repository root on the environment's path). Those names are common words: a
project that installs the zoo next to its own ``models`` package must still be able to import both. So a built
wheel maps each folder below ``jax_zoo`` (``package_dir``) and rewrites the zoo's own absolute imports in the copied
sources (``from models.common import x`` becomes ``from jax_zoo.models.common import x``; ``import models.moe``
becomes ``import jax_zoo.models.moe`` plus ``from jax_zoo import models``, so the bound name is unchanged). Only
import statements are rewritten (found with ``ast``, not by text search); modules that import by name at run time
derive the prefix from their own ``__name__``. ``jax_zoo`` itself is an implicit namespace package.

Everything else (metadata, dependencies, extras) is in ``setup.cfg``.
"""
from __future__ import annotations

import ast
import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

NAMESPACE = "jax_zoo"
TOP_LEVEL = ("models", "kernels", "theory", "experiments")


def rewrite_imports(source: str, namespace: str = NAMESPACE, top_level=TOP_LEVEL) -> str:
  """``source`` with every absolute import of a ``top_level`` package moved under ``namespace``.

  Relative imports, imports of other packages and text outside import statements (strings, comments) are left as
  they are. Raises SyntaxError for a file Python cannot parse.
  """
  tree = ast.parse(source)
  lines = source.splitlines(keepends=True)
  offsets = [0]
  for line in lines:
    offsets.append(offsets[-1] + len(line))
  edits = []                                     # (start, end, replacement) in character offsets
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
        node.module.split(".")[0] in top_level:
      start = offsets[node.lineno - 1] + node.col_offset
      segment = source[start:offsets[node.end_lineno - 1] + node.end_col_offset]
      at = segment.index(node.module, len("from"))
      edits.append((start + at, start + at + len(node.module), f"{namespace}.{node.module}"))
    elif isinstance(node, ast.Import) and any(a.name.split(".")[0] in top_level for a in node.names):
      parts = []
      for a in node.names:
        top = a.name.split(".")[0]
        if top not in top_level:
          parts.append(f"import {a.name}" + (f" as {a.asname}" if a.asname else ""))
        elif a.asname:
          parts.append(f"import {namespace}.{a.name} as {a.asname}")
        else:                                    # `import models.x` binds `models`: keep that binding
          parts.append(f"import {namespace}.{a.name}")
          parts.append(f"from {namespace} import {top}")
      start = offsets[node.lineno - 1] + node.col_offset
      end = offsets[node.end_lineno - 1] + node.end_col_offset
      edits.append((start, end, "; ".join(parts)))
  for start, end, text in sorted(edits, reverse=True):
    source = source[:start] + text + source[end:]
  return source


class BuildPyUnderNamespace(build_py):
  """Copies the packages as usual, then rewrites the zoo's imports in the copied ``.py`` files."""

  def build_module(self, module, module_file, package):
    result = super().build_module(module, module_file, package)
    package = package if isinstance(package, str) else ".".join(package)
    out = self.get_module_outfile(self.build_lib, package.split("."), module)
    with open(out, encoding="utf-8") as f:
      text = f.read()
    new = rewrite_imports(text)
    if new != text:
      with open(out, "w", encoding="utf-8") as f:
        f.write(new)
    return result


_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGES = find_packages(where=_HERE, include=[p + suffix for p in TOP_LEVEL for suffix in ("", ".*")])

if __name__ == "__main__":                       # setuptools' build backend runs this file as __main__
  setup(
      packages=[f"{NAMESPACE}.{p}" for p in _PACKAGES],
      package_dir={f"{NAMESPACE}.{p}": p for p in TOP_LEVEL},
      package_data={"": ["*.md"]},
      cmdclass={"build_py": BuildPyUnderNamespace},
  )
