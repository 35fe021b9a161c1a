"""What a benchmark run writes: tables (CSV), figures (PNG) and the Markdown report."""

from genrekit.pipeline.evaluation.report.figures import write_figures
from genrekit.pipeline.evaluation.report.markdown import render_report
from genrekit.pipeline.evaluation.report.tables import write_leaderboard_csv, write_predictions

__all__ = ["render_report", "write_figures", "write_leaderboard_csv", "write_predictions"]
