"""A sweep on a real Dask LocalCluster gives the same rows as the local process pool."""
from __future__ import annotations

import csv
import sys

import pytest

from simulator.errors import SpecError
from simulator.sweep import sweep
from simulator.sweep.execute import dask_client

GRID = {"memory.sram.size": "16KiB..64KiB*2", "compute.array.buffers.weights.size": "1B,-1,16KiB"}


def _csv_rows(path):
    with open(path, newline="") as fh:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(fh)]


def test_local_cluster_equals_local_pool(tiny_net, tmp_path):
    """Two worker processes of a LocalCluster and two pool processes: identical rows and files but wall time."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("pandas")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        on_dask = sweep("teaching", tiny_net, GRID, scheduler=cluster.scheduler_address, out=tmp_path / "dask.csv")
        with distributed.Client(cluster) as client:           # a Client is accepted too (and left open)
            via_client = sweep("teaching", tiny_net, GRID, scheduler=client)
            assert client.status == "running"
    pooled = sweep("teaching", tiny_net, GRID, workers=2, out=tmp_path / "pool.csv")
    assert len(pooled) == 9 and (pooled["status"] == "ok").sum() == 3
    assert on_dask.drop(columns="wall_s").equals(pooled.drop(columns="wall_s"))
    assert via_client.drop(columns="wall_s").equals(pooled.drop(columns="wall_s"))
    assert _csv_rows(tmp_path / "dask.csv") == _csv_rows(tmp_path / "pool.csv")


def test_missing_distributed_is_a_clear_error(monkeypatch):
    """Without dask.distributed installed, --scheduler says which extra to install."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SpecError, match=r"npusim\[cluster\]"):
        dask_client("tcp://127.0.0.1:8786")
