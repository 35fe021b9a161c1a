"""Evaluation: features → one split → every model on the same folds → leaderboard and reports."""
