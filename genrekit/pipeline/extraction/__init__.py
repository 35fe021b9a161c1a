"""Extraction: audio files → feature store.

sources (folder / manifest / FMA readers → Track records), decode (one file → mono signal),
run (plan what is cached, batches, one worker unit, the index merge), cluster (the Dask executor).
"""
