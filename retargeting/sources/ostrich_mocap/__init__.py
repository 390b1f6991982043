"""Real ostrich keypoint clips shipped with the package (see README.md in this folder)."""
