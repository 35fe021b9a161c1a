"""Near-duplicate detection over fingerprints stored at extraction: an inverted index over hashes
(:mod:`.index`), the pairs it finds grouped (:mod:`.groups`), and ``genrekit duplicates`` on a
store (:mod:`.find`)."""
