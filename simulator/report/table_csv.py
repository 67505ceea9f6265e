"""The per-layer table as flat rows: CSV (`write_csv`) and, when pandas is installed, a DataFrame.

Columns are the JSON per-layer keys (`LayerResult.to_dict()`) in order, with the `stall_cycles`
dict flattened into one `stall_<cause>` column per cause and `stall_by_resource` into
`stall_by_<resource>`.
"""
from __future__ import annotations

import csv
from typing import TYPE_CHECKING

if TYPE_CHECKING:       # annotations only: result.py imports this module (Result.to_dataframe)
    from simulator.result import Result


def layer_rows(result: Result) -> list[dict]:
    """One flat dict per layer: the JSON keys, stall causes as stall_<cause>."""
    rows = []
    for lr in result.layers:
        row = {}
        for key, value in lr.to_dict().items():
            if isinstance(value, dict):     # stall_cycles -> stall_<cause>; stall_by_resource -> stall_by_<res>
                prefix = "stall_by_" if key == "stall_by_resource" else "stall_"
                row.update({f"{prefix}{cause}": v for cause, v in value.items()})
            else:
                row[key] = value
        rows.append(row)
    return rows


def columns(result: Result) -> list[str]:
    rows = layer_rows(result)
    return list(rows[0]) if rows else []


def write_csv(result: Result, path) -> None:
    """Write the per-layer table to `path` (floats written with repr, so they read back exactly)."""
    rows = layer_rows(result)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns(result))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})


def to_dataframe(result: Result):
    """The per-layer table as a pandas DataFrame indexed by layer name (needs pandas)."""
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("to_dataframe needs pandas, which is not installed: pip install pandas "
                          "(or use write_csv / Result.to_dict, which need nothing extra)") from e
    return pd.DataFrame(layer_rows(result), columns=columns(result)).set_index("name", drop=False)
