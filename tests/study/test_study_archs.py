"""The new arch files load and their derived figures match the public figures in refs/chips.md."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulator.spec import load_arch

ROOT = Path(__file__).resolve().parents[2]
NEW = ("xavier_nx", "tesla_t4", "blaize_el_cano", "tpu_v1", "eyeriss_v1")


@pytest.mark.parametrize("name", NEW)
def test_new_arch_loads(name):
    """Each new arch file validates into an ArchSpec named after its file."""
    spec = load_arch(name)
    assert spec.name == name and spec.description


@pytest.mark.parametrize("name", NEW)
def test_every_value_line_carries_its_source(name):
    """Every line that sets a value (name and description aside) has a comment: a source or `assumption:`."""
    lines = (ROOT / "archs" / f"{name}.yaml").read_text().splitlines()
    values = [l for l in lines if l.strip() and not l.lstrip().startswith("#") and not l.rstrip().endswith(":")
              and l.split(":")[0].strip() not in ("name", "description")]
    assert values and not [l for l in values if "#" not in l]


def test_assumptions_doc_lists_every_arch():
    """docs/assumptions.md has a section for every new chip."""
    doc = (ROOT / "docs" / "assumptions.md").read_text()
    for name in NEW:
        assert f"`{name}`" in doc


def test_tesla_t4_is_130_int8_tops_320_gb_s():
    """T4: 40 SMs x 1024 INT8 MACs at 1590 MHz = 130.3 TOPS; 256-bit GDDR6 at 10 Gb/s = 320 GB/s; 4 MiB L2."""
    s = load_arch("tesla_t4")
    assert s.compute.arrays == 40 and s.total_macs == 40 * 1024
    assert s.peak_tops == pytest.approx(130, rel=0.005)
    assert s.dram_pins == 256 and s.dram_peak_bytes_per_s == pytest.approx(320e9)
    assert s.memory.dram.resolved_timing.speed_grade == "GDDR6-10000"
    assert s.memory.sram.size_bytes == 4 * 2**20
    assert 0 < s.overheads.sustained_clock_fraction < 1
    assert s.compute.kind == "gpu" and s.compute.gpu.kernel_launch_cycles > 0


def test_xavier_nx_models_the_gpu_share_of_21_tops():
    """Xavier NX: the GPU is 48 tensor cores x 128 MACs x 2 x 1.1 GHz = 13.5 TOPS of the data
    sheet's 21; the two NVDLAs (compute.unit_groups) the rest; 128-bit LPDDR4x-3200 = 51.2 GB/s."""
    s = load_arch("xavier_nx")
    assert s.clock_hz == 1_100_000_000 and s.compute.arrays * s.compute.array.macs == 48 * 128
    gpu = 2 * 48 * 128 * s.clock_hz / 1e12
    assert gpu == pytest.approx(13.5168)
    assert s.peak_tops - gpu == pytest.approx(7.48, abs=0.01)       # the NVDLA share
    assert s.peak_tops == pytest.approx(21, rel=1e-3)
    assert s.dram_pins == 128 and s.dram_peak_bytes_per_s == pytest.approx(51.2e9)
    assert s.memory.dram.resolved_timing.speed_grade == "LPDDR4-3200"
    assert "21 TOPS" in (ROOT / "archs" / "xavier_nx.yaml").read_text()


def test_blaize_el_cano_is_16_tops_on_4_mbit():
    """El Cano: 16 GSPs, ~16 TOPS, SRAM + local buffers = 4 Mibit of on-chip memory."""
    s = load_arch("blaize_el_cano")
    assert s.compute.arrays == 16 and s.peak_tops == pytest.approx(16, rel=0.03)
    b = s.compute.array.buffers
    on_chip = s.memory.sram.size_bytes + s.compute.arrays * (b.weights.size_bytes + b.inputs.size_bytes
                                                            + b.outputs.size_bytes)
    assert on_chip * 8 == 4 * 2**20


def test_tpu_v1_is_92_tops_256x256():
    """TPU v1: one 256x256 weight-stationary INT8 array at 700 MHz = 91.75 TOPS; 24 MiB UB, 4 MiB
    accumulators, 34 GB/s weight memory."""
    s = load_arch("tpu_v1")
    a = s.compute.array
    assert (s.compute.arrays, a.rows, a.cols, a.dataflow) == (1, 256, 256, "weight_stationary")
    assert s.peak_tops == pytest.approx(92, rel=0.003)
    assert s.memory.sram.size_bytes == 24 * 2**20 and a.buffers.outputs.size_bytes == 4 * 2**20
    assert s.dram_peak_bytes_per_s == pytest.approx(34e9, rel=0.01)


def test_eyeriss_v1_is_168_pes_at_200_mhz():
    """Eyeriss v1: 12 x 14 = 168 row-stationary 16-bit PEs at 200 MHz = 33.6 GMAC/s; 64-bit 60 MHz link."""
    s = load_arch("eyeriss_v1")
    a = s.compute.array
    assert (a.rows, a.cols, a.dataflow, a.precision) == (12, 14, "row_stationary", "int16")
    assert s.total_macs == 168 and s.clock_hz == 200_000_000
    assert s.total_macs * s.clock_hz == pytest.approx(33.6e9)
    assert s.dram_pins == 64 and s.dram_peak_bytes_per_s == pytest.approx(480e6)
    assert a.buffers.weights.size_bytes == 168 * 224 * 2


def test_sustained_clock_fraction_is_validated():
    """overheads.sustained_clock_fraction defaults to 1, must be in (0, 1], and gives an int clock."""
    assert load_arch("teaching").overheads.sustained_clock_fraction == 1.0
    s = load_arch("teaching", {"overheads.sustained_clock_fraction": 0.5})
    assert s.overheads.sustained_clock_hz(s.clock_hz) == 250_000_000
    from simulator.errors import SpecError
    for bad in (0, 1.5):
        with pytest.raises(SpecError, match="sustained_clock_fraction"):
            load_arch("teaching", {"overheads.sustained_clock_fraction": bad})


def test_new_archs_parse_as_plain_yaml():
    """The files are plain YAML mappings with the top-level sections of the format."""
    for name in NEW:
        raw = yaml.safe_load((ROOT / "archs" / f"{name}.yaml").read_text())
        assert {"name", "clock", "compute", "memory", "overheads"} <= set(raw)
