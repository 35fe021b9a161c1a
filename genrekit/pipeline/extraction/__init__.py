"""Extraction: audio files → feature store.

sources (folder / manifest / FMA readers → Track records), decode (one file → mono signal),
analysis (one file → features or a captured failure; predict uses it too), plan (what is cached →
tasks → batches), worker (a batch → shards of its own), merge (batch results → index.json and the
report), executor (who runs the batches: local joblib, or dask_executor on a cluster reached
through cluster), run (``extract()``: the orchestration).
"""
