"""ml_collections configs, one file per paper slug: ``experiments/configs/<slug>.py:<variant>``."""
