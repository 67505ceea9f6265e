"""`python -m simulator.study`: kept working after the study moved beside the reports it renders.

The study itself is simulator/report/study.py (`npusim study` runs it too); this module only
re-exports it and forwards `python -m simulator.study [--set ...] [--jobs N] [--replot]`.
"""
from simulator.report.study import *  # noqa: F401,F403
from simulator.report.study import main

if __name__ == "__main__":
    raise SystemExit(main())
