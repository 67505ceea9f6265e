"""The mapping of a layer, explained: what the mapper chose (tile sizes, batch fold, loop order,
array split, Winograd, local-buffer split, fused group), where it assumed the operands live, its
estimate term by term, and the runner-up with its estimate (`npusim run --explain LAYER`, and
`mappings` in the JSON). Reads the mapper's ConvTiling (mapping/tiling.py) or a Result.
"""
from __future__ import annotations

import difflib

from simulator.errors import SpecError

OPERANDS = ("weights", "inputs", "outputs")
WEIGHT_HOMES = ("dram", "dram, staged in sram", "sram")     # ConvTiling.homes' weights level


def mapping_dict(t) -> dict | None:
    """One mapping (a ConvTiling, or a GPU kernel's GpuTiling) as JSON: its choices and its estimate."""
    if t is None:
        return None
    if hasattr(t, "blocks_per_sm"):
        return _gpu_mapping_dict(t)
    terms = {"compute": float(t.est_compute_cycles), "dram": t.est_dram_cycles, "sram": t.est_sram_cycles,
             "interconnect": t.est_ic_cycles}
    homes = None
    if t.homes:
        i_on, w_level, o_on = t.homes
        homes = {"inputs": "sram" if i_on else ("dram, staged in sram" if t.in_stage_bytes else "dram"),
                 "weights": WEIGHT_HOMES[w_level],
                 "outputs": "sram" if o_on else "dram"}
    return {
        "gb": t.gb, "kc": t.kc, "cr": t.cr, "ph": t.ph, "qw": t.qw, "nb": t.nb, "order": t.order,
        "split": t.split, "winograd": t.winograd, "tiles": t.n_tiles,
        "buffer_slot_bytes": dict(zip(OPERANDS, t.slots)) if t.slots else None,
        "buffer_banks": dict(zip(OPERANDS, t.buffer_banks)) if t.buffer_banks else None,
        "fused_group": None,               # layer_mapping names the depth-first group, if any
        "operand_homes": homes,
        "estimate": {"cycles": t.est_cycles, "bound_by": max(terms, key=terms.get),
                     "compute_cycles": t.est_compute_cycles, "dram_cycles": t.est_dram_cycles,
                     "sram_cycles": t.est_sram_cycles, "interconnect_cycles": t.est_ic_cycles,
                     "dram_bytes": t.est_dram_bytes, "sram_bytes": t.est_sram_bytes},
    }


def _gpu_mapping_dict(t) -> dict:
    """A GPU kernel (mapping/gpu.py): the thread-block shape, occupancy, waves and raster order."""
    if t.cuda_cores:
        return {"kernel": "cuda_cores", "estimate": {"cycles": t.est_cycles}}
    return {"kernel": "tensor_cores", "block_m": t.m, "block_n": t.n, "block_k": t.k,
            "blocks_per_sm": t.blocks_per_sm, "blocks": t.blocks, "waves": t.waves, "k_steps": t.k_steps,
            "raster": t.raster, "estimate": {"cycles": t.est_cycles}}


def layer_mapping(t, fused_group: str | None = None) -> dict | None:
    """{'chosen': ..., 'runner_up': ...} for a MAC layer's tiling; None for a layer without one.

    `fused_group` names the depth-first group the layer runs in (fused_group_label), if any."""
    if t is None:
        return None
    chosen = mapping_dict(t)
    if fused_group and "fused_group" in chosen:
        chosen["fused_group"] = fused_group
    return {"chosen": chosen, "runner_up": mapping_dict(t.runner_up)}


def fused_group_label(plan, name: str) -> str | None:
    """'group i of n: first .. last, b bands of r rows' for a layer in a fused group of `plan`
    (mapping.fusion.FusionPlan), else None."""
    i = plan.group_of.get(name) if plan is not None else None
    if i is None:
        return None
    g = plan.groups[i]
    return (f"group {i + 1} of {len(plan.groups)}: {g.layers[0]} .. {g.layers[-1]}, {g.bands} bands of "
            f"{g.band_rows[name]} output rows")


def check_layer_name(names, name: str, network: str, option: str = "--explain") -> None:
    """A SpecError naming close matches when `name` is not a layer of the network."""
    if name in names:
        return
    near = difflib.get_close_matches(name, list(names), n=3)
    hint = f"; did you mean {', '.join(near)}?" if near else (f"; its layers are {names[0]} .. {names[-1]}"
                                                               if names else "")
    raise SpecError(option, name, f"no layer '{name}' in network '{network}'{hint}")


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB" if n % 1024 else f"{n // 1024:,} KiB"


def _lines(m: dict) -> list[str]:
    e = m["estimate"]
    if "kernel" in m:                   # a GPU kernel
        if m["kernel"] == "cuda_cores":
            return ["kernel          on the CUDA cores (grouped conv)", f"estimate        {e['cycles']:,.0f} cycles"]
        return [f"thread block    {m['block_m']} pixels x {m['block_n']} channels x {m['block_k']} of the reduction "
                f"per step, {m['k_steps']:,} steps",
                f"grid            {m['blocks']:,} blocks, {m['blocks_per_sm']} per SM, {m['waves']:,} wave{'s' if m['waves'] > 1 else ''}; "
                f"{m['raster']} fastest in launch order",
                f"estimate        {e['cycles']:,.0f} cycles"]
    out = [f"tile            gb {m['gb']} x kc {m['kc']} x cr {m['cr']} x ph {m['ph']} x qw {m['qw']}, "
           f"nb {m['nb']} image{'s' if m['nb'] > 1 else ''} per tile; {m['tiles']:,} tiles",
           f"loop order      {m['order']}; array split by {m['split']}",
           f"Winograd        {'F(%d x %d, 3 x 3)' % (m['winograd'], m['winograd']) if m['winograd'] else 'no (direct)'}"]
    if m["buffer_slot_bytes"]:
        slots = ", ".join(f"{k} {_kib(v)}" for k, v in m["buffer_slot_bytes"].items())
        banks = (" (shared buffer banks: " + ", ".join(f"{k} {v}" for k, v in m["buffer_banks"].items() if v)
                 + ")") if m["buffer_banks"] else ""
        out.append(f"buffer slots    {slots}{banks}")
    out.append(f"fused group     {m['fused_group'] or 'none'}")
    if m["operand_homes"]:
        out.append("operands        " + ", ".join(f"{k} in {v}" for k, v in m["operand_homes"].items()))
    out.append(f"estimate        {e['cycles']:,.0f} cycles, bound by {e['bound_by']}: compute {e['compute_cycles']:,}, "
               f"DRAM {e['dram_cycles']:,.0f} ({e['dram_bytes']:,} B), SRAM {e['sram_cycles']:,.0f} "
               f"({e['sram_bytes']:,} B), interconnect {e['interconnect_cycles']:,.0f}")
    return out


def explain_text(result, name: str) -> str:
    """The --explain paragraph of one layer of a Result (its name checked by the caller)."""
    lr = next(layer for layer in result.layers if layer.name == name)
    head = f"layer {lr.name} ({lr.op}) of {result.network} on {result.arch}, batch {result.batch}"
    if lr.mapping is None:
        why = ("--ideal-memory runs layers as whole folds, without tiles" if result.ideal_memory and lr.macs
               else "not a MAC layer: row blocks on the vector units" if lr.unit_kind == "vector"
               else "an alias of its input (no tiles)")
        return f"{head}: {why}"
    chosen, runner = lr.mapping["chosen"], lr.mapping["runner_up"]
    lines = [head, "chosen mapping:"] + ["  " + s for s in _lines(chosen)]
    if runner:
        lines += ["runner-up:"] + ["  " + s for s in _lines(runner) if not s.startswith(("fused", "operands"))]
    else:
        lines.append("runner-up:      none (no other tiling fits the local buffers)")
    lines.append(f"simulated       {lr.cycles:,} cycles span, {lr.busy_cycles:,} busy; DRAM read "
                 f"{lr.dram_read_bytes:,} B, written {lr.dram_write_bytes:,} B; {lr.tiles:,} tiles")
    return "\n".join(lines)
