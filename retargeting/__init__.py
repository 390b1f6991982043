"""Motions in, morphology-specific reference clips out: sources, scaling, IK, quality, datasets.

>>> from retargeting.datasets import open_dataset   # the one public reader of a dataset
>>> with open_dataset("walk_legs80.h5") as dataset: ...
"""
