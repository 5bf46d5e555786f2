"""The zoo's top-level names must resolve to this repository (they are common names on PyPI)."""
import importlib
import importlib.util
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("models", "kernels", "theory", "experiments")


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_inside_repository(name):
  mod = importlib.import_module(name)
  path = os.path.realpath(mod.__file__)
  assert path.startswith(os.path.realpath(REPO) + os.sep), (
      f"`import {name}` resolved to {path}, outside the repository {REPO}: another distribution named "
      f"{name!r} shadows the zoo; run `pip install -e .` in a clean environment")


def test_packages_import_from_any_directory(tmp_path):
  """In the development environment (`./zoo env`: the repository root is on its path), the short names import
  from any directory, with the repository neither cwd nor on PYTHONPATH."""
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  code = ("import models, kernels, theory, experiments, os; "
          "print('\\n'.join(os.path.realpath(m.__file__) for m in (models, kernels, theory, experiments)))")
  out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
  assert out.returncode == 0, out.stderr
  for line in out.stdout.split():
    assert line.startswith(os.path.realpath(REPO) + os.sep), line


def test_library_layers_do_not_import_experiment_machinery():
  """models/, kernels/, theory/ never pull in ml_collections, matplotlib, sklearn or experiments.

  (absl is checked in the sources below: flax itself imports absl.logging.)
  """
  code = ("import sys, pkgutil, importlib\n"
          "import models, kernels, theory\n"
          "for pkg in (models, kernels, theory):\n"
          "  for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
          "    if not m.name.endswith('.bench'):\n"
          "      importlib.import_module(m.name)\n"
          "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
          "('experiments', 'ml_collections', 'matplotlib', 'sklearn'))\n"
          "print(bad)\n")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert out.returncode == 0, out.stderr
  assert out.stdout.strip() == "[]", f"library layers imported experiment machinery: {out.stdout}"


def test_library_sources_do_not_import_absl_or_experiments():
  """The library layers' own sources import no absl and no experiments (bench.py binaries excepted). A module
  that is also a command-line program may import absl inside its ``_cli()`` function, which only
  ``if __name__ == "__main__"`` calls: importing the library never imports absl."""
  import ast
  offenders = []
  for pkg in ("models", "kernels", "theory"):
    for root, _, files in os.walk(os.path.join(REPO, pkg)):
      for f in files:
        if not f.endswith(".py") or f == "bench.py":
          continue
        path = os.path.join(root, f)
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        in_cli = {id(n) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and fn.name == "_cli"
                  for n in ast.walk(fn)}
        for node in ast.walk(tree):
          names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                   [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
          offenders += [f"{path}: {n}" for n in names
                        if n.split(".")[0] in ("absl", "experiments", "ml_collections", "matplotlib", "sklearn")
                        and not (n.split(".")[0] == "absl" and id(node) in in_cli)]
  assert not offenders, offenders


def _setup_module():
  spec = importlib.util.spec_from_file_location("zoo_setup", os.path.join(REPO, "setup.py"))
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)                  # not __main__: defines the helpers, builds nothing
  return mod


def test_wheel_import_rewrite_moves_only_the_zoos_absolute_imports():
  src = ("import models.moe\n"
         "import numpy as np, theory.paging as P, os\n"
         "from models.common import ibp as I, stats\n"
         "from experiments.train_lib import (\n    TrainState,\n    make_optimizer)\n"
         "from . import sibling\n"
         "from .models import x\n"
         "import modelsx\n"
         "from kernelsfoo import y\n"
         "s = 'from models.common import x'  # import models\n"
         "def f():\n  import kernels.gla\n  return kernels.gla\n")
  out = _setup_module().rewrite_imports(src)
  assert out == ("import jax_zoo.models.moe; from jax_zoo import models\n"
                 "import numpy as np; import jax_zoo.theory.paging as P; import os\n"
                 "from jax_zoo.models.common import ibp as I, stats\n"
                 "from jax_zoo.experiments.train_lib import (\n    TrainState,\n    make_optimizer)\n"
                 "from . import sibling\n"
                 "from .models import x\n"
                 "import modelsx\n"
                 "from kernelsfoo import y\n"
                 "s = 'from models.common import x'  # import models\n"
                 "def f():\n  import jax_zoo.kernels.gla; from jax_zoo import kernels\n  return kernels.gla\n")
  compile(out, "rewritten", "exec")               # still valid Python


def test_wheel_installs_next_to_a_projects_own_models_package(tmp_path):
  """Built as a wheel (offline, no build isolation) and installed into a fresh target directory, the zoo imports as
  ``jax_zoo.*`` in a project whose own ``models`` package keeps its name; the zoo's name-based lookups (every
  conformance spec, so every model package; tasks; claim modules; the lazy train_lib exports) resolve inside the
  namespace, and no module of the zoo is imported under a short name."""
  import shutil
  src = tmp_path / "src"
  for name in PACKAGES:
    shutil.copytree(os.path.join(REPO, name), src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
  for name in ("setup.py", "setup.cfg", "pyproject.toml", "README.md"):
    shutil.copy(os.path.join(REPO, name), src / name)
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
  out = subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                              str(src)], capture_output=True, text=True, timeout=300, env=env)
  assert out.returncode == 0, out.stderr[-3000:]
  wheel, = (tmp_path / "dist").glob("jax_zoo-*.whl")
  site = tmp_path / "site"
  out = subprocess.run(pip + ["install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=300, env=env)
  assert out.returncode == 0, out.stderr[-3000:]
  assert sorted(p.name for p in site.iterdir() if not p.name.endswith(".dist-info")) == ["jax_zoo"]
  proj = tmp_path / "project"
  (proj / "models").mkdir(parents=True)
  (proj / "models" / "__init__.py").write_text("NAME = 'the project'\n")
  code = ("import sys\n"
          f"sys.path[:0] = [{str(proj)!r}, {str(site)!r}]\n"        # -I: neither PYTHONPATH nor the cwd is used
          "import models\n"
          "assert models.NAME == 'the project', models.__file__\n"
          "import jax_zoo.models.hopfield as H\n"
          "from jax_zoo.models import registry\n"
          "from jax_zoo.experiments import claims, tasks\n"
          "from jax_zoo.experiments.train_lib import TrainState\n"
          "import jax_zoo.theory.paging, jax_zoo.kernels.gla\n"
          "assert registry.all_specs() and claims.CLAIM_MODULES[0].startswith('jax_zoo.experiments.claims.')\n"
          "import jax_zoo.experiments.claims.hopfield\n"
          "assert tasks.task_class('hopfield_mil').__module__ == 'jax_zoo.experiments.tasks.hopfield_mil'\n"
          "assert H.__file__.startswith(sys.path[1]), H.__file__\n"
          "stray = sorted(m for m in sys.modules if m.split('.')[0] in ('kernels', 'theory', 'experiments')\n"
          "               or m.startswith('models.'))\n"
          "assert not stray, stray\n"
          "print('ok')\n")
  out = subprocess.run([sys.executable, "-I", "-c", code], cwd=proj, capture_output=True, text=True, timeout=300,
                       env={**env, "JAX_PLATFORMS": "cpu"})
  assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
