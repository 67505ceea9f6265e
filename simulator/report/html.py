"""One self-contained HTML page of a run: summary, per-layer table and the two figures.

Nothing is fetched when the page opens: the figures are PNG data URIs, the CSS is inline and
there is no script.
"""
from __future__ import annotations

import base64
import io
from html import escape

from simulator import units
from simulator.report.energy import component_table, energy_rows
from simulator.report.plots import plot_from_dict, timeline_summary
from simulator.report.summary import mac_utilization_text
from simulator.report.table_csv import layer_rows
from simulator.result import OWN_CAUSES, STALL_CAUSES, Result

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { text-align: left; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
p.note { color: #555; font-size: 0.85em; }
"""

_LAYER_COLUMNS = (("name", "layer"), ("op", "op"), ("unit_kind", "unit"), ("tiles", "tiles"),
                  ("macs", "MACs"), ("own_cycles", "own"), ("busy_cycles", "busy"),
                  *((f"stall_{c}", c) for c in OWN_CAUSES), ("wait_cycles", "waiting"), ("cycles", "span"),
                  ("latency_ms", "span ms"), ("mac_utilization", "MAC util"),
                  ("dram_read_bytes", "DRAM rd B"), ("dram_write_bytes", "DRAM wr B"),
                  ("sram_read_bytes", "SRAM rd B"), ("sram_write_bytes", "SRAM wr B"),
                  ("dram_bandwidth_utilization", "DRAM BW util"))


def _png_uri(data: dict, kind: str) -> str:
    buf = io.BytesIO()
    plot_from_dict(data, buf, kind=kind)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _cell(key: str, value) -> str:
    if isinstance(value, str):
        return f"<td>{escape(value)}</td>"
    if key in ("mac_utilization", "dram_bandwidth_utilization"):
        text = f"{100 * value:.1f}%"
    elif isinstance(value, float):
        text = f"{value:.4f}"
    else:
        text = f"{value:,}"
    return f'<td class="num">{text}</td>'


def summary_rows(r: Result) -> list[tuple[str, str]]:
    arrays = sum(1 for u in r.per_array if u["unit"].startswith("array"))
    array_cycles = r.cycles * arrays or 1
    return [
        ("architecture", r.arch), ("network", f"{r.network} {r.input[0]}x{r.input[1]}, batch {r.batch}"
                                   + (" (ideal memory)" if r.ideal_memory else "")),
        ("latency", f"{r.latency_ms:.3f} ms ({r.cycles:,} cycles at {units.format_hz(r.clock_hz)})"),
        ("throughput", f"{r.fps:.2f} fps"),
        ("MAC utilization", mac_utilization_text(r)),
        ("array cycles", f"busy {100 * r.busy_cycles / array_cycles:.1f}%, " + ", ".join(
            f"{c} {100 * r.stall_cycles[c] / array_cycles:.1f}%" for c in STALL_CAUSES)),
        ("DRAM traffic", f"read {units.format_bytes(r.dram_read_bytes)}, write {units.format_bytes(r.dram_write_bytes)}, "
                         f"{100 * r.dram_bandwidth_utilization:.1f}% of peak bandwidth"),
        ("SRAM peak", units.format_bytes(r.sram_peak_bytes)),
        *energy_rows(r),
        ("version / spec hash", f"{r.version} / {r.spec_hash}"),
    ]


def render_html(result: Result, bins: int = 400) -> str:
    """The page as a string."""
    data = timeline_summary(result, bins)
    title = f"{result.network} {result.input[0]}x{result.input[1]} on {result.arch}"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>npusim: {escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>npusim: {escape(title)}</h1>", '<h2>Summary</h2><table class="summary">']
    out += [f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in summary_rows(result)]
    out.append("</table>")
    out.append('<h2>Timeline</h2><img alt="MAC utilization, array time by cause and DRAM bandwidth over time" '
               f'src="{_png_uri(data, "timeline")}">')
    out.append('<h2>Per layer</h2><p class="note">cycles: span from first compute start to last tile done; '
               "busy and stall columns: unit-cycles summed over the units that ran the layer.</p>")
    out.append('<table class="layers" id="layers"><thead><tr>'
               + "".join(f"<th>{escape(h)}</th>" for _, h in _LAYER_COLUMNS) + "</tr></thead><tbody>")
    for row in layer_rows(result):
        out.append("<tr>" + "".join(_cell(k, row[k]) for k, _ in _LAYER_COLUMNS) + "</tr>")
    out.append("</tbody></table>")
    out.append('<h2>Time per layer</h2><img alt="time per layer, busy and stall causes" '
               f'src="{_png_uri(data, "layers")}">')
    if result.energy:
        out.append('<h2>Energy</h2><p class="note">per inference, by component (docs/energy.md)</p>'
                   '<table class="layers" id="energy"><thead><tr><th>component</th><th>energy (uJ)</th>'
                   "<th>share</th></tr></thead><tbody>")
        out += [f"<tr><td>{escape(name)}</td><td>{1e6 * j:,.3f}</td><td>{100 * s:.1f}%</td></tr>"
                for name, j, s in component_table(result)]
        out.append("</tbody></table>")
        out.append('<table class="layers" id="energy-layers"><thead><tr><th>layer</th><th>energy (uJ)</th>'
                   "</tr></thead><tbody>")
        out += [f"<tr><td>{escape(row['layer'])}</td><td>{1e6 * row['energy_j']:,.3f}</td></tr>"
                for row in result.energy["by_layer"]]
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(result: Result, path, bins: int = 400) -> None:
    """Write the self-contained report page to `path`."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_html(result, bins))
