"""Motions in, morphology-specific reference clips out."""
