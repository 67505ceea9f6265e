"""Unit groups: engines of other kinds beside the main arrays, each running whole images (mapping/unit_groups.py)."""
import numpy as np
import pytest

from simulator.mapping import unit_groups as ug
from simulator.mapping.program import build_program
from simulator.pipeline import simulate
from simulator.spec import load_arch
from simulator.workload import load_network


def test_xavier_nx_reaches_its_data_sheet_21_tops():
    """GPU 13.52 TOPS + two 2048-MAC NVDLAs at 913 MHz = 21.0 TOPS (the data sheet's figure)."""
    s = load_arch("xavier_nx")
    gpu = 2 * s.compute.arrays * s.compute.array.macs * s.clock_hz / 1e12
    assert gpu == pytest.approx(13.5168)
    (dla,) = s.compute.unit_groups
    assert dla.count == 2 and dla.array.macs == 2048
    assert s.peak_tops == pytest.approx(21, rel=1e-3)


def test_images_follow_the_rates_by_largest_remainder():
    """8 images at rates 3:1:1 -> 4.8, 1.6, 1.6 -> 5, 2, 1 (ties to the earlier engine)."""
    assert ug.assign_images(8, [3, 1, 1]) == [5, 2, 1]
    assert ug.assign_images(1, [3, 1, 1]) == [1, 0, 0]
    assert ug.assign_images(3, [1, 1, 1]) == [1, 1, 1]


def test_engines_run_their_own_images_on_their_own_units(monkeypatch):
    """Batch 3, equal shares forced: each engine's tiles sit on its own units, MACs add up to the batch,
    and an engine's cycles are its own clock's cycles converted to the core clock (rounded up)."""
    monkeypatch.setattr(ug, "assign_images", lambda batch, rates: [1, 1, 1])
    arch = load_arch("xavier_nx")
    net = load_network("conv_micro", batch=3)
    mapped = build_program(arch, net)
    p = mapped.program
    assert mapped.num_arrays == 6 * 6 + 2 and mapped.num_vector_units == 6 + 2
    assert int(p.tile_macs.sum()) == sum(l.macs for l in net.layers)
    # every unit's queue holds only its own tiles, each once
    seen = np.concatenate([p.unit_tiles[p.unit_start[u]:p.unit_start[u + 1]] for u in range(len(p.unit_start) - 1)])
    assert sorted(seen) == list(range(len(p.tile_unit)))
    for u in range(len(p.unit_start) - 1):
        assert (p.tile_unit[p.unit_tiles[p.unit_start[u]:p.unit_start[u + 1]]] == u).all()
    on_dla = np.isin(p.tile_unit, [36, 37, 36 + 2 + 6, 37 + 2 + 6])
    assert int(p.tile_macs[on_dla].sum()) == 2 * sum(l.macs for l in net.layers) // 3


def test_engine_cycles_convert_at_the_clock_ratio():
    """A DLA-only share: its compute cycles are ceil(own cycles x core clock / DLA clock)."""
    arch = load_arch("xavier_nx")
    dla = arch.compute.unit_groups[0]
    net = ug.with_batch(load_network("conv_micro"), 1)
    own = build_program(ug.engine_arch(arch, dla), net).program
    merged = ug.merge_programs([(own, 1, 1, dla.clock_hz, arch.effective_clock_hz)])
    assert list(merged.tile_compute) == list(-(-own.tile_compute * arch.effective_clock_hz // dla.clock_hz))


def test_batch_one_runs_on_the_fastest_engine_and_accounts_every_unit():
    """At batch 1 the GPU takes the image; the DLAs idle the whole run (busy + stalls = makespan per unit)."""
    r = simulate("xavier_nx", "conv_micro")
    for u in r.per_array:
        total = u["busy"] + sum(u[c] for c in ("dependency", "weights", "inputs", "outputs", "setup", "idle"))
        assert total == r.cycles
    dla_units = [u for u in r.per_array if u["unit"] in ("array36", "array37")]
    assert all(u["busy"] == 0 and u["idle"] == r.cycles for u in dla_units)


def test_a_group_with_another_prefetch_depth_is_refused():
    """The engine runs one prefetch depth: a unit group with another is a MappingError naming compute.unit_groups."""
    import yaml
    from simulator.errors import MappingError
    from simulator.spec.registry import archs_dir
    raw = yaml.safe_load((archs_dir() / "xavier_nx.yaml").read_text())
    raw["compute"]["unit_groups"][0]["array"]["prefetch_depth"] = 3
    arch = load_arch(raw)
    with pytest.raises(MappingError, match="prefetch_depth"):
        build_program(arch, load_network("conv_micro", batch=2))
