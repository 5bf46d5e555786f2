"""What the zoo's command-line programs print: their own progress lines always, library chatter on request.

``experiments.main`` and ``experiments.reproduce`` pass :func:`flags_parser` to ``absl.app.run``. It

* sets absl's ``--verbosity`` to -1 (WARNING) unless the command line gives it (absl itself would
  raise it to 0, INFO), and makes the loggers of orbax, jax, etils and flax follow it: orbax's
  INFO lines (one per checkpoint operation) come back with ``--verbosity=0`` (``-v 0``);
* turns a command-line error into one line on stderr and exit status 2, no traceback: an unknown
  flag, a value of the wrong type, a mistyped ``--config.<field>`` override (naming the nearest
  valid field, found with ``difflib``), a config file that cannot be loaded.

:func:`say` prints a progress line to stderr whatever the verbosity (it does not go through
``logging``): the progress lines are what a run is watched by.
"""
from __future__ import annotations

import difflib
import importlib.util
import logging
import os
import re
import sys
from typing import Any, Callable, NoReturn

from absl import flags
from absl import logging as absl_logging

# absl verbosity when the command line does not set one: -1 = WARNING (0 = INFO, 1 = DEBUG).
DEFAULT_VERBOSITY = -1
# Loggers that follow --verbosity explicitly (they propagate to the root logger, whose level absl
# sets; an explicit level keeps them in line if a library sets its own).
LIBRARY_LOGGERS = ("absl", "orbax", "jax", "etils", "flax")


def say(line: str) -> None:
  """Prints one progress line to stderr now, whatever the verbosity."""
  print(line, file=sys.stderr, flush=True)


def fail(program: str, message: str, status: int = 2) -> NoReturn:
  """Prints ``program: error: message`` as one line to stderr and exits with ``status``."""
  one_line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
  print(f"{program}: error: {one_line}", file=sys.stderr, flush=True)
  sys.exit(status)


def follow_verbosity() -> None:
  """Sets the library loggers to the level of absl's current ``--verbosity``."""
  v = absl_logging.get_verbosity()
  level = absl_logging.converter.absl_to_standard(v) if v <= absl_logging.converter.ABSL_DEBUG else (
      logging.DEBUG - (v - 1))
  explicit = flags.FLAGS["logger_levels"].value if "logger_levels" in flags.FLAGS else {}
  for name in LIBRARY_LOGGERS:
    if name not in explicit:  # --logger_levels=name:LEVEL wins
      logging.getLogger(name).setLevel(level)


def flags_parser(program: str, config_flag: str | None = None) -> Callable[[list[str]], list[str]]:
  """A ``flags_parser`` for ``absl.app.run``: quiet by default, one-line errors (see the module doc).

  Args:
    program: how error lines name the program (``experiments.main``).
    config_flag: the name of an ``ml_collections`` config-file flag whose ``--<name>.<field>``
      overrides are checked against the loaded config, or None.
  """

  def parse(argv: list[str]) -> list[str]:
    try:
      rest = flags.FLAGS(argv)
    except (flags.Error, AttributeError, KeyError, TypeError, ValueError, OSError) as e:
      message = (override_error(argv, config_flag) if config_flag else None) or _flag_error(e)
      fail(program, message)
    if config_flag:
      _check_config_loaded(program, config_flag)
    if flags.FLAGS["verbosity"].using_default_value:
      flags.FLAGS.verbosity = DEFAULT_VERBOSITY  # marks it set, so absl.app keeps it
    follow_verbosity()
    return rest

  return parse


def _check_config_loaded(program: str, config_flag: str) -> None:
  """ml_collections defers a config file's load error to the first use of the config: report it now."""
  value = flags.FLAGS[config_flag].value
  if value is None:
    return
  try:
    value.keys()
  except Exception as e:  # noqa: BLE001 -- any load failure is a command-line error here
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    fail(program, f"--{config_flag}={flags.FLAGS[config_flag].serialize().split('=', 1)[-1]}: cannot load the "
                  f"config file: {lines[-1] if lines else type(e).__name__}")


def _flag_error(e: Exception) -> str:
  """One line: absl's message, without the traceback ml_collections embeds for a failing get_config."""
  message = str(e) if isinstance(e, flags.Error) else f"{type(e).__name__}: {e}"
  if "Traceback (most recent call last)" in message:
    head = message.split("Traceback (most recent call last)")[0].strip()
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    message = f"{head} {lines[-1]}"
  return message


def override_error(argv: list[str], config_flag: str = "config") -> str | None:
  """The message for the first ``--<config_flag>.<path>`` override in ``argv`` that names no field.

  Loads the config file given by ``--<config_flag>=path.py[:arg]`` (``get_config(arg)``) and walks
  each override's path; returns None when every override names a field (or the file cannot be
  loaded: its own error is the one to report).
  """
  spec = None
  overrides = []
  pattern = re.compile(rf"^--?(?:no)?{re.escape(config_flag)}\.([^=]+)")
  for i, arg in enumerate(argv):
    if arg.startswith((f"--{config_flag}=", f"-{config_flag}=")):
      spec = arg.split("=", 1)[1]
    elif arg in (f"--{config_flag}", f"-{config_flag}") and i + 1 < len(argv):
      spec = argv[i + 1]
    elif m := pattern.match(arg):
      overrides.append(m.group(1))
  if spec is None or not overrides:
    return None
  try:
    config = _load_config(spec)
  except Exception:  # noqa: BLE001 -- the flag's own error is reported instead
    return None
  fields = sorted(_paths(config))
  for path in overrides:
    node, walked = config, []
    for part in path.split("."):
      if _has_field(node, part):
        node = node[part]
        walked.append(part)
        continue
      where = ".".join([config_flag, *walked])
      nearest = difflib.get_close_matches(path, fields, n=1, cutoff=0.0)
      hint = f"; the nearest valid field is --{config_flag}.{nearest[0]}" if nearest else ""
      return f"--{config_flag}.{path}: {where} has no field {part!r}{hint}"
  return None


def _has_field(node: Any, name: str) -> bool:
  try:
    return hasattr(node, "keys") and name in node.keys()
  except TypeError:
    return False


def _paths(node: Any, prefix: str = "") -> list[str]:
  out = []
  for k in node.keys():
    out.append(prefix + k)
    v = node[k]
    if hasattr(v, "keys"):
      out.extend(_paths(v, f"{prefix}{k}."))
  return out


def _load_config(spec: str) -> Any:
  path, _, arg = spec.partition(":")
  module_spec = importlib.util.spec_from_file_location("_zoo_console_config", os.path.abspath(path))
  if module_spec is None or module_spec.loader is None:
    raise FileNotFoundError(path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()
