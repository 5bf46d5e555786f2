"""Jit-compiled estimators, simulators, closed forms and lower-bound constructions, one package per paper."""
