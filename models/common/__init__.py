"""Code shared by two or more papers of this layer."""
