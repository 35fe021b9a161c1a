"""Saved models and prediction: one artifact per model, applied to new audio with the same features."""
