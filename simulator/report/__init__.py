"""Reports read results and specs only: tables, JSON, traces, plots."""
