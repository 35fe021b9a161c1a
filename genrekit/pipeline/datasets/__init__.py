"""Data sets genrekit makes itself: the synthetic music-like collection and `genrekit demo`."""
