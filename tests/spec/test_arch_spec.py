"""Arch specs: bundled chips load with the right derived figures; each bad spec is one clear SpecError."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from simulator.errors import SpecError
from simulator.spec import load_arch
from simulator.spec.arch import DATAFLOWS, ArchSpec
from simulator.spec.dram_standards import STANDARDS

ROOT = Path(__file__).resolve().parents[2]
ARCHS = ROOT / "archs"


def _raw(name: str = "teaching") -> dict:
    return yaml.safe_load((ARCHS / f"{name}.yaml").read_text())


def _write(tmp_path: Path, data, name: str = "chip.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _error(path, *needles: str, overrides=(), key: str | None = None) -> SpecError:
    """Load `path`, expect one SpecError naming the file and every needle."""
    with pytest.raises(SpecError) as info:
        load_arch(path, overrides)
    err = info.value
    text = str(err)
    assert str(path) in text and err.source.startswith(str(path))
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    if key is not None:
        assert err.key == key and f"'{key}'" in text
    assert "\n" not in text and "Traceback" not in text
    return err


# --- bundled chips and derived figures -------------------------------------------------------

def test_bundled_archs_load():
    """Both bundled chips validate into frozen ArchSpecs named after their files."""
    for name in ("teaching", "inferx_x1"):
        spec = load_arch(name)
        assert isinstance(spec, ArchSpec) and spec.name == name
        with pytest.raises(Exception):
            spec.name = "other"  # frozen


def test_inferx_x1_derived_figures():
    """InferX X1: 4096 MACs at 1.067 GHz = 8.740864 TOPS; x32 LPDDR4X-4266 = 17.064 GB/s, 32 pins."""
    spec = load_arch("inferx_x1")
    assert spec.clock_hz == 1_067_000_000
    assert spec.total_macs == 4096
    assert spec.peak_tops == pytest.approx(8.740864, rel=1e-12)
    assert spec.memory.dram.resolved_timing.speed_grade == "LPDDR4X-4266"
    assert spec.dram_peak_bytes_per_s == pytest.approx(17.064e9, rel=1e-12)
    assert spec.dram_pins == 32
    assert spec.memory.sram.size_bytes == 6 * 2**20
    assert spec.memory.dram.channel_width_bits == 32


def test_teaching_derived_figures():
    """Teaching chip: 256 MACs at 500 MHz = 0.256 TOPS; x16 LPDDR4-3200 = 6.4 GB/s, 16 pins."""
    spec = load_arch("teaching")
    assert spec.total_macs == 256
    assert spec.peak_tops == pytest.approx(0.256)
    assert spec.dram_peak_bytes_per_s == pytest.approx(6.4e9)
    assert spec.dram_pins == 16
    assert spec.compute.array.buffers.outputs.size_bytes == 16 * 1024


def test_units_become_base_ints():
    """Every quantity in the spec is an int in base units (bytes, bits, Hz, MT/s)."""
    spec = load_arch("teaching")
    m = spec.memory
    values = (spec.clock_hz, m.sram.size_bytes, m.sram.bank_bytes_per_cycle, m.sram.interleave_bytes,
              m.interconnect.width_bytes_per_cycle, m.dram.data_rate_mtps, m.dram.channel_width_bits)
    assert values == (500_000_000, 256 * 1024, 16, 64, 32, 3200, 16)
    assert all(type(v) is int for v in values)


def test_resolved_dict_has_derived_and_full_timing():
    """resolved_dict() carries the derived figures and the full preset timing, and reloads."""
    data = load_arch("inferx_x1").resolved_dict()
    assert data["derived"] == {"total_macs": 4096, "peak_tops": pytest.approx(8.740864),
                               "dram_peak_bytes_per_s": pytest.approx(17.064e9), "dram_pins": 32,
                               "effective_clock_hz": 1_067_000_000}
    assert data["memory"]["dram"]["timing"]["speed_grade"] == "LPDDR4X-4266"
    json.dumps(data)


def test_derived_figures_cannot_be_written(tmp_path):
    """A derived figure written in the file is an unknown key (derived figures are computed)."""
    raw = _raw()
    raw["peak_tops"] = 1.0
    _error(_write(tmp_path, raw), "unknown key 'peak_tops'", key="peak_tops")


def test_data_rate_omitted_takes_fastest_grade(tmp_path):
    """Without data_rate the fastest preset of the standard is chosen."""
    raw = _raw()
    del raw["memory"]["dram"]["data_rate"]
    spec = load_arch(_write(tmp_path, raw))
    assert spec.memory.dram.resolved_timing.speed_grade == "LPDDR4-3200"


def test_timing_override_applies(tmp_path):
    """A key under memory.dram.timing replaces that preset field and is recorded as overridden."""
    raw = _raw()
    raw["memory"]["dram"]["timing"] = {"trcd_rd": 40, "per_bank_refresh_supported": True}
    timing = load_arch(_write(tmp_path, raw)).memory.dram.resolved_timing
    assert timing.trcd_rd == 40 and timing.per_bank_refresh_supported is True  # a bool stays a bool
    assert set(timing.overridden) == {"trcd_rd", "per_bank_refresh_supported"}


def test_arch_file_by_path_equals_bundled_name(tmp_path):
    """A copy of a bundled file, loaded by path, is the same spec as the bundled name."""
    copy = tmp_path / "my_chip.yaml"
    copy.write_text((ARCHS / "inferx_x1.yaml").read_text())
    assert load_arch(copy) == load_arch("inferx_x1")
    assert load_arch(str(copy)) == load_arch("inferx_x1")


# --- --set overrides -------------------------------------------------------------------------

def test_set_override_changes_size():
    """memory.sram.size=2MiB sets size_bytes to 2 MiB and leaves the rest alone."""
    spec = load_arch("teaching", ["memory.sram.size=2MiB"])
    assert spec.memory.sram.size_bytes == 2 * 2**20
    assert spec.memory.sram.banks == load_arch("teaching").memory.sram.banks


def test_set_overrides_several_kinds():
    """Overrides take ints, units, nested timing keys, new sections and a mapping form."""
    spec = load_arch("teaching", ["compute.arrays=2", "memory.dram.data_rate=2400 MT/s",
                                  "memory.dram.timing.trcd_rd=30", "overheads.layer_setup_cycles=7"])
    assert spec.total_macs == 512
    assert spec.memory.dram.resolved_timing.speed_grade == "LPDDR4-2400"
    assert spec.memory.dram.resolved_timing.trcd_rd == 30
    assert spec.overheads.layer_setup_cycles == 7
    assert load_arch("teaching", {"clock": "1 GHz"}).clock_hz == 10**9


def test_set_on_an_arch_spec_object():
    """Overrides apply to an ArchSpec as well as to a file, validated the same way."""
    base = load_arch("teaching")
    assert load_arch(base) is base
    assert load_arch(base, ["memory.sram.banks=8"]).memory.sram.banks == 8
    with pytest.raises(SpecError, match="memory.sram.banks"):
        load_arch(base, ["memory.sram.banks=0"])


def test_set_bad_dataflow():
    """compute.array.dataflow=bogus fails naming the key and the allowed dataflows."""
    err = _error(ARCHS / "teaching.yaml", "'bogus' is not allowed", *DATAFLOWS,
                 overrides=["compute.array.dataflow=bogus"], key="compute.array.dataflow")
    assert "--set" in err.source


def test_set_nonexistent_key_suggests():
    """--set on a key the format does not have names it, suggests the closest and lists the allowed."""
    _error(ARCHS / "teaching.yaml", "unknown key 'sise'", "Did you mean 'size'?", "banks, bank_width",
           overrides=["memory.sram.sise=2MiB"], key="memory.sram.sise")
    _error(ARCHS / "teaching.yaml", "unknown key 'sramm'", "Did you mean 'sram'?",
           overrides=["memory.sramm.size=2MiB"], key="memory.sramm")


def test_set_bad_value():
    """--set with a bad unit or a non-number is refused like the same value in the file."""
    _error(ARCHS / "teaching.yaml", "unknown unit 'MiBB'", "did you mean 'MiB'?", "KiB",
           overrides=["memory.sram.size=2MiBB"], key="memory.sram.size")
    _error(ARCHS / "teaching.yaml", "must be a whole number", "'four'",
           overrides=["memory.sram.banks=four"], key="memory.sram.banks")


def test_set_inside_a_value():
    """--set name.x=1 is refused: 'name' is a value, not a section."""
    _error(ARCHS / "teaching.yaml", "'name' is a value", overrides=["name.x=1"], key="name.x")


@pytest.mark.parametrize("item", ["memory.sram.size", "=3", "memory..size=1", ""])
def test_set_malformed(item):
    """An override that is not dotted.key=value says how to write one."""
    with pytest.raises(SpecError, match="dotted.key=value"):
        load_arch("teaching", [item])


# --- each class of bad spec ------------------------------------------------------------------

def test_typo_in_key_suggests_the_right_key(tmp_path):
    """A misspelt key is reported (not the 'missing' key it causes) with the right key suggested."""
    text = (ARCHS / "teaching.yaml").read_text().replace("    banks: 4", "    bnaks: 4")
    path = _write(tmp_path, text)
    err = _error(path, "unknown key 'bnaks'", "Did you mean 'banks'?",
                 "Allowed in 'memory.sram': size, banks", key="memory.sram.bnaks")
    assert "more problem" not in str(err) and "missing" not in str(err)


def test_typo_at_top_level(tmp_path):
    """A top-level typo ('clokc') suggests 'clock' and lists the top-level keys."""
    text = (ARCHS / "teaching.yaml").read_text().replace("clock:", "clokc:")
    _error(_write(tmp_path, text), "Did you mean 'clock'?", "Allowed at the top level: name",
           key="clokc")


def test_missing_key(tmp_path):
    """A required key that is absent is named with its section and meaning."""
    raw = _raw()
    del raw["memory"]["sram"]["banks"]
    _error(_write(tmp_path, raw), "required key 'banks'", "number of banks", "missing in 'memory.sram'",
           key="memory.sram.banks")


def test_missing_section(tmp_path):
    """A missing section is reported as a missing key at the top level."""
    raw = _raw()
    del raw["memory"]
    _error(_write(tmp_path, raw), "required key 'memory'", "missing at the top level", key="memory")


@pytest.mark.parametrize("value", [0, "0 KiB", "0"])
def test_zero_size(tmp_path, value):
    """A zero size is refused: must be greater than 0."""
    raw = _raw()
    raw["memory"]["sram"]["size"] = value
    _error(_write(tmp_path, raw), "must be greater than 0", f"(got {value!r})", key="memory.sram.size")


@pytest.mark.parametrize("key, value", [
    (("memory", "sram", "size"), "-5 KiB"), (("memory", "sram", "size"), -1),
    (("compute", "array", "buffers", "weights", "size"), "-16 KiB"),
    (("compute", "arrays"), -4), (("memory", "sram", "banks"), -1),
    (("clock", ), "-500 MHz"), (("memory", "dram", "channel_width"), "-16 bit"),
])
def test_negative_values(tmp_path, key, value):
    """Negative sizes, counts, clocks and widths are refused: must be greater than 0."""
    raw = _raw()
    node = raw
    for part in key[:-1]:
        node = node[part]
    node[key[-1]] = value
    _error(_write(tmp_path, raw), "must be greater than 0", "negative", key=".".join(key))


def test_negative_latency(tmp_path):
    """A latency may be 0 but not negative."""
    raw = _raw()
    raw["memory"]["sram"]["latency"] = -1
    _error(_write(tmp_path, raw), "must be at least 0", key="memory.sram.latency")


def test_unknown_dataflow_lists_allowed(tmp_path):
    """An unknown dataflow lists every allowed dataflow and suggests the closest."""
    raw = _raw()
    raw["compute"]["array"]["dataflow"] = "diagonal_stationary"
    _error(_write(tmp_path, raw), "'diagonal_stationary' is not allowed", "Allowed: " + ", ".join(DATAFLOWS),
           key="compute.array.dataflow")


def test_unknown_dram_standard_lists_allowed(tmp_path):
    """An unknown DRAM standard lists the standards; a wrong case suggests the right one."""
    raw = _raw()
    raw["memory"]["dram"]["standard"] = "LPDDR9"
    _error(_write(tmp_path, raw), "'LPDDR9' is not allowed", ", ".join(STANDARDS),
           key="memory.dram.standard")
    raw["memory"]["dram"]["standard"] = "ddr4"
    _error(_write(tmp_path, raw), "Did you mean 'DDR4'?", key="memory.dram.standard")


def test_unknown_speed_grade_lists_available(tmp_path):
    """A data rate with no preset lists the grades of that standard, at memory.dram.data_rate."""
    raw = _raw()
    raw["memory"]["dram"]["data_rate"] = "3733 MT/s"
    _error(_write(tmp_path, raw), "no LPDDR4 preset at 3733 MT/s", "LPDDR4-2400", "LPDDR4-3200",
           key="memory.dram.data_rate")


def test_unknown_timing_override_key(tmp_path):
    """An unknown field under timing is named with its full dotted key and close field names."""
    raw = _raw()
    raw["memory"]["dram"]["timing"] = {"trcd": 20}
    err = _error(_write(tmp_path, raw), "unknown DRAM timing field 'trcd'", "trcd_rd",
                 key="memory.dram.timing.trcd")
    assert "overrides of" not in str(err)  # no nested error text


@pytest.mark.parametrize("mapping", ["ro_ba_co_ch", "ro_ba_bg_co_ch_ch", "ro_ba_bg_co_xx"])
def test_address_mapping_must_order_the_five_fields(tmp_path, mapping):
    """An address mapping that misses, repeats or misspells a field is refused at its key."""
    raw = _raw()
    raw["memory"]["dram"]["address_mapping"] = mapping
    _error(_write(tmp_path, raw), "is not an order of the five address fields", key="memory.dram.address_mapping")


def test_any_order_of_the_address_fields_is_accepted(tmp_path):
    """Every permutation is a layout: e.g. channel on top, rows below the column."""
    raw = _raw()
    raw["memory"]["dram"]["address_mapping"] = "ch_co_ro_bg_ba"
    assert load_arch(_write(tmp_path, raw)).memory.dram.address_mapping == "ch_co_ro_bg_ba"


def test_per_bank_refresh_needs_a_standard_that_has_it(tmp_path):
    """refresh: per_bank on a preset without per-bank timings is refused at memory.dram.refresh."""
    raw = _raw()
    raw["memory"]["dram"].update(standard="DDR4", data_rate="3200 MT/s", channel_width="64 bit", refresh="per_bank")
    _error(_write(tmp_path, raw), "DDR4-3200 has no per-bank refresh", key="memory.dram.refresh")


def test_timing_override_short_rule_stricter_than_long(tmp_path):
    """tCCD_S above tCCD_L is refused at memory.dram.timing.tccd_s (the engine relies on _S <= _L)."""
    raw = _raw()
    raw["memory"]["dram"]["timing"] = {"tccd_s": 99}
    _error(_write(tmp_path, raw), "tccd_s = 99 exceeds tccd_l", key="memory.dram.timing.tccd_s")


@pytest.mark.parametrize("value, needle", [(-3, "positive"), ("abc", "must be a whole number or true/false"),
                                           (1.5, "must be a whole number")])
def test_bad_timing_override_value(tmp_path, value, needle):
    """A bad timing value is refused at memory.dram.timing.<field>, without pydantic's union noise."""
    raw = _raw()
    raw["memory"]["dram"]["timing"] = {"trcd_rd": value}
    err = _error(_write(tmp_path, raw), needle, key="memory.dram.timing.trcd_rd")
    assert "more problem" not in str(err) and "[" not in err.key


@pytest.mark.parametrize("key, value, needles", [
    (("clock",), "500 MHzz", ["unknown unit 'MHzz'", "did you mean 'MHz'?", "Hz, kHz, KHz, MHz, GHz"]),
    (("memory", "sram", "size"), "256 KiBs", ["unknown unit 'KiBs'", "B, KB, MB, GB, KiB, MiB"]),
    (("memory", "dram", "data_rate"), "3200 MHz", ["unknown unit 'MHz'", "MT/s, GT/s, Mbps, Gbps"]),
    (("memory", "dram", "channel_width"), "16 parsecs", ["unknown unit 'parsecs'", "bit"]),
    (("memory", "sram", "size"), "3 bit", ["not a whole number of bytes"]),
])
def test_bad_unit(tmp_path, key, value, needles):
    """A bad or fractional unit is refused at its key with the allowed units, quoted once."""
    raw = _raw()
    node = raw
    for part in key[:-1]:
        node = node[part]
    node[key[-1]] = value
    err = _error(_write(tmp_path, raw), *needles, key=".".join(key))
    assert str(err).count(repr(value)) == 1  # the input is not repeated as "(got ...)"
    assert "function-" not in str(err) and "Value error" not in str(err)


def test_yaml_syntax_error_gives_line(tmp_path):
    """A YAML syntax error names the line and column."""
    text = (ARCHS / "teaching.yaml").read_text().replace("    banks: 4", "    banks: [4")
    line = text.splitlines().index("    banks: [4") + 1
    err = _error(_write(tmp_path, text), "not valid YAML")
    assert re.search(r"line (\d+)", str(err)) and int(re.search(r"line (\d+)", str(err)).group(1)) >= line


def test_duplicate_key_is_refused(tmp_path):
    """A key written twice in one mapping is refused with its line (the second would silently win)."""
    text = (ARCHS / "teaching.yaml").read_text().replace("    banks: 4", "    banks: 4\n    banks: 8")
    _error(_write(tmp_path, text), "key 'banks' appears twice", "line 25")


@pytest.mark.parametrize("text, needle", [("- a\n- b\n", "got list"), ("just text\n", "got str"),
                                          ("", "the file is empty"), ("# only a comment\n", "empty")])
def test_non_mapping_top_level(tmp_path, text, needle):
    """A file whose top level is not a mapping says so and lists the top-level keys."""
    _error(_write(tmp_path, text), "expected a mapping of keys at the top level", "name, clock", needle)


def test_section_given_as_value(tmp_path):
    """A section written as a scalar is refused with the keys the section takes."""
    raw = _raw()
    raw["compute"]["vector"] = 16
    _error(_write(tmp_path, raw), "must be a section with keys lanes, units", "(got 16)",
           key="compute.vector")


@pytest.mark.parametrize("key, value, needle", [
    (("memory", "sram", "banks"), "four", "must be a whole number (got 'four')"),
    (("memory", "sram", "banks"), 4.5, "must be a whole number (got 4.5)"),
    (("memory", "sram", "pin_weights"), "maybe", "must be true or false (got 'maybe')"),
    (("name",), "te aching", "letters, digits"),
    (("name",), "", "must not be empty"),
    (("memory", "sram", "sharing"), "split", "Allowed: shared, per_array"),
])
def test_bad_values_have_plain_wording(tmp_path, key, value, needle):
    """Wrong types are explained in plain words, not pydantic's 'Input should be ...'."""
    raw = _raw()
    node = raw
    for part in key[:-1]:
        node = node[part]
    node[key[-1]] = value
    err = _error(_write(tmp_path, raw), needle, key=".".join(key))
    assert "Input should" not in str(err)


def test_several_problems_list_the_others(tmp_path):
    """With several problems, the first is explained and the other keys are listed."""
    raw = _raw()
    raw["clock"] = "5 parsecs"
    raw["compute"]["vector"]["lanes"] = 0
    err = _error(_write(tmp_path, raw), "1 more problem", "compute.vector.lanes")
    assert err.key == "clock"


def test_unknown_arch_name_lists_bundled():
    """A name that is neither a bundled chip nor a file lists the bundled chips and the closest."""
    with pytest.raises(SpecError) as info:
        load_arch("teachin")
    text = str(info.value)
    assert "inferx_x1" in text and "teaching" in text and "Did you mean teaching" in text


def test_missing_file_path():
    """A path that does not exist is refused with the bundled names, not an OSError."""
    with pytest.raises(SpecError, match="no such arch file"):
        load_arch("/nonexistent/chip.yaml")


# --- schema ----------------------------------------------------------------------------------

def test_schema_doc_is_current():
    """docs/schema/arch.schema.json equals the schema generated from the model."""
    doc = json.loads((ROOT / "docs" / "schema" / "arch.schema.json").read_text())
    assert doc == ArchSpec.model_json_schema(by_alias=True), (
        "regenerate: npusim schema arch > docs/schema/arch.schema.json")


def _schema_leaves(schema: dict, node: dict, prefix: str = ""):
    defs = schema["$defs"]
    for key, prop in node.get("properties", {}).items():
        if "$ref" in prop:
            yield from _schema_leaves(schema, defs[prop["$ref"].split("/")[-1]], prefix + key + ".")
        else:
            yield prefix + key, prop


def test_schema_quantity_patterns_accept_bundled_values():
    """Every string quantity in the bundled files matches its schema pattern; bad units do not."""
    schema = ArchSpec.model_json_schema(by_alias=True)
    leaves = dict(_schema_leaves(schema, schema))
    patterns = {k: p["anyOf"][0]["pattern"] for k, p in leaves.items()
                if "anyOf" in p and "pattern" in p["anyOf"][0]}
    assert {"clock", "memory.sram.size", "memory.dram.channel_width"} <= set(patterns)
    for name in ("teaching", "inferx_x1"):
        raw = _raw(name)
        for key, pattern in patterns.items():
            node = raw
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, str):
                assert re.match(pattern, node), (name, key, node)
    assert not re.match(patterns["memory.sram.size"], "256 KiBs")
    assert not re.match(patterns["clock"], "-5 MHz")


def test_schema_timing_lists_overridable_fields():
    """The schema of memory.dram.timing lists the preset fields, closed to others."""
    schema = ArchSpec.model_json_schema(by_alias=True)
    timing = schema["$defs"]["DramSpec"]["properties"]["timing"]
    assert timing["additionalProperties"] is False
    assert {"trcd_rd", "trp", "tck_ps", "per_bank_refresh_supported"} <= set(timing["properties"])
    assert "speed_grade" not in timing["properties"]


def test_format_doc_mentions_every_key():
    """docs/formats/arch.md documents every key of the format."""
    doc = (ROOT / "docs" / "formats" / "arch.md").read_text()
    schema = ArchSpec.model_json_schema(by_alias=True)
    for key, _ in _schema_leaves(schema, schema):
        documented = re.sub(r"buffers\.(weights|inputs|outputs)\.", "buffers.*.", key)
        assert f"`{documented}`" in doc, key


def test_spec_errors_survive_pickling():
    """A SpecError sent to or from a worker process keeps its file, key and message."""
    import pickle

    from simulator.errors import MappingError
    err = pickle.loads(pickle.dumps(MappingError("chip.yaml", "memory.sram.size", "too small")))
    assert isinstance(err, MappingError)
    assert (err.source, err.key, err.message) == ("chip.yaml", "memory.sram.size", "too small")
