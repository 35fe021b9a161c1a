"""Pretrained networks as feature extractors, without their frameworks.

``weights``       musicnn's checkpoint files: fetched from the musicnn 0.1.0 wheel, SHA-256 checked
``tfcheckpoint``  a TensorFlow checkpoint (tensor bundle) read with numpy
``musicnn``       the musicnn network in torch, its input (log-mel patches), loaded once per process
``labels``        the 50 tags of each musicnn model

Imports nothing of genrekit beyond ``errors`` and ``files``; torch and librosa are imported when used.
"""
