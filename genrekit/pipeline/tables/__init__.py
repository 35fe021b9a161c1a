"""Feature tables in and out: CSV / Parquet / ARFF / NPZ readers, joins with a store, export."""
