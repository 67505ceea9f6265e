"""Running a sweep: validate each point in the parent, simulate it on a worker, journal its row.

    SweepPlan --run_sweep--> rows (one dict per point) + the results file

Backends: in this process (`workers=1`), a local pool of spawned processes (default: one per
core), or an existing Dask distributed cluster (`scheduler='tcp://host:8786'`, or a Client).
At most two points per worker are in flight, so the parent validates the next points while the
workers simulate. The journal is a CSV file with one line per finished point, flushed as each
point finishes; `resume=True` reads it back (a partial last line, left by a killed run, is cut
off) and runs only the missing points. When every point is done the file is rewritten sorted by
point (atomically); a `.parquet` target is written then from the journal `<out>.journal.csv`.
"""
from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from simulator.errors import SpecError
from simulator.outputs import check_output
from simulator.result import STALL_CAUSES
from simulator.sweep.plan import Point, SweepPlan, value_text

STALL_COLUMNS = tuple(f"stall_{cause}" for cause in STALL_CAUSES)
RESULT_COLUMNS = ("fps", "latency_ms", "cycles", "mac_utilization", "effective_tops", "dram_read_bytes",
                  "dram_write_bytes", "dram_bandwidth_utilization", "sram_peak_bytes", "busy_cycles",
                  "energy_j", "power_w", "fps_per_watt") + STALL_COLUMNS
SPEC_COLUMNS = ("peak_tops", "dram_pins", "sram_bytes", "spec_hash")
INT_COLUMNS = frozenset({"point", "cycles", "dram_read_bytes", "dram_write_bytes", "sram_peak_bytes", "busy_cycles",
                         "dram_pins", "sram_bytes", *STALL_COLUMNS})
FLOAT_COLUMNS = frozenset({"fps", "latency_ms", "mac_utilization", "effective_tops", "dram_bandwidth_utilization",
                           "peak_tops", "wall_s", "energy_j", "power_w", "fps_per_watt"})
OK, ERROR = "ok", "error"


def columns(keys: Iterable[str]) -> tuple[str, ...]:
    """The row columns of a sweep over `keys`, in file order."""
    return ("point", *keys, "status", "error", *RESULT_COLUMNS, *SPEC_COLUMNS, "point_hash", "wall_s")


class SweepAborted(RuntimeError):
    """The sweep could not go on (a worker process died, the cluster went away); resume it later."""


# ---------------------------------------------------------------------------------------------
# One point
# ---------------------------------------------------------------------------------------------

def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SpecError):
        text = f"{type(exc).__name__}: " + (f"at '{exc.key}': " if exc.key else "") + exc.message
    else:
        text = f"internal error (please report): {type(exc).__name__}: {exc}"
    return " ".join(text.split())


def run_point(spec, network, ideal_memory: bool) -> dict:
    """Simulate one validated point (on a worker); its status, error and result columns."""
    from simulator.pipeline import simulate

    t0 = time.perf_counter()
    try:
        r = simulate(spec, network, ideal_memory=ideal_memory)
    except Exception as exc:  # a point that fails is a row; the sweep goes on
        return {"status": ERROR, "error": _one_line(exc), "wall_s": round(time.perf_counter() - t0, 4)}
    row = {"status": OK, "error": "", "fps": r.fps, "latency_ms": r.latency_ms, "cycles": r.cycles,
           "mac_utilization": r.mac_utilization, "effective_tops": r.effective_tops,
           "dram_read_bytes": r.dram_read_bytes, "dram_write_bytes": r.dram_write_bytes,
           "dram_bandwidth_utilization": r.dram_bandwidth_utilization, "sram_peak_bytes": r.sram_peak_bytes,
           "busy_cycles": r.busy_cycles, "energy_j": r.energy_j, "power_w": r.power_w,
           "fps_per_watt": r.fps_per_watt}
    row.update({f"stall_{c}": int(r.stall_cycles.get(c, 0)) for c in STALL_CAUSES})
    row["wall_s"] = round(time.perf_counter() - t0, 4)
    return row


class _Job(NamedTuple):
    point: Point
    spec: object                 # validated ArchSpec, or None when validation failed
    row: dict                    # the columns known in the parent (and the error, if it failed)


def _prepare(plan: SweepPlan, point: Point) -> _Job:
    """Validate one point's spec in the parent; an invalid point becomes a failed row at once."""
    from simulator.result import spec_hash
    from simulator.spec import load_arch

    row = {"point": point.index, **point.values, "point_hash": point.hash}
    t0 = time.perf_counter()
    try:
        spec = load_arch(plan.arch, plan.overrides(point))
    except SpecError as exc:
        row.update(status=ERROR, error=_one_line(exc), wall_s=round(time.perf_counter() - t0, 4))
        return _Job(point, None, row)
    row.update(peak_tops=spec.peak_tops, dram_pins=spec.dram_pins, sram_bytes=spec.memory.sram.size_bytes,
               spec_hash=spec_hash(spec.resolved_dict()))
    return _Job(point, spec, row)


# ---------------------------------------------------------------------------------------------
# Backends: each yields (job, result columns) as points finish
# ---------------------------------------------------------------------------------------------

def _windowed(jobs: Iterator[_Job], submit: Callable, wait_first: Callable, window: Callable[[], int],
              result_of: Callable) -> Iterator[tuple[_Job, dict]]:
    """Keep up to window() points in flight; failed validations pass straight through."""
    pending: dict = {}
    exhausted = False
    while True:
        while not exhausted and len(pending) < window():
            job = next(jobs, None)
            if job is None:
                exhausted = True
            elif job.spec is None:
                yield job, {}
            else:
                pending[submit(job)] = job
        if not pending:
            return
        for fut in sorted(wait_first(list(pending)), key=lambda f: pending[f].point.index):
            job = pending.pop(fut)
            yield job, result_of(fut)


def _inline(jobs, network, ideal_memory):
    for job in jobs:
        yield job, (run_point(job.spec, network, ideal_memory) if job.spec is not None else {})


def _ignore_sigint() -> None:
    """In pool workers: Ctrl-C is the parent's to handle (it stops the pool), not each worker's."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _local_pool(jobs, network, ideal_memory, workers: int):
    import concurrent.futures as cf
    import multiprocessing

    # spawn: the parent may have threads (the progress bar), which fork does not survive safely.
    pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_ignore_sigint)

    def result_of(fut):
        try:
            return fut.result()
        except cf.process.BrokenProcessPool:
            raise SweepAborted("a worker process died (out of memory, or killed)") from None

    try:
        yield from _windowed(jobs, lambda job: pool.submit(run_point, job.spec, network, ideal_memory),
                             lambda fs: cf.wait(fs, return_when=cf.FIRST_COMPLETED).done,
                             lambda: 2 * workers, result_of)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def dask_client(scheduler):
    """A distributed.Client for an address (ours to close) or the given Client (the caller's)."""
    try:
        import distributed
    except ImportError:
        raise SpecError("--scheduler", str(scheduler), "running on a Dask cluster needs dask.distributed, an "
                        "optional extra: pip install 'npusim[cluster]' (or pip install 'dask[distributed]')") from None
    if not isinstance(scheduler, str):
        return scheduler, False
    try:
        return distributed.Client(scheduler, timeout="20s"), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise SpecError("--scheduler", scheduler, f"cannot connect to a Dask scheduler there ({exc})") from None


def _dask(jobs, network, ideal_memory, client):
    import distributed

    remote_net = client.scatter(network, broadcast=True)

    def window():
        return 2 * max(1, sum(client.nthreads().values()))

    def result_of(fut):
        try:
            return fut.result()
        except distributed.KilledWorker as exc:   # this point killed its workers: record it, go on
            return {"status": ERROR, "error": f"worker died running this point ({exc})"}

    yield from _windowed(jobs, lambda job: client.submit(run_point, job.spec, remote_net, ideal_memory, pure=False),
                         lambda fs: distributed.wait(fs, return_when="FIRST_COMPLETED").done, window, result_of)


def check_workers(workers) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers <= 0):
        raise SpecError("--workers", "workers", f"{workers!r} is not a number of workers; give a positive integer")


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------------------------------
# The results file
# ---------------------------------------------------------------------------------------------

def _cell(column: str, value: object) -> str:
    if value is None:
        return ""
    if column in FLOAT_COLUMNS:
        return repr(float(value))
    return " ".join(value_text(value).split()) if isinstance(value, str) else value_text(value)


def _typed(column: str, text: str) -> object:
    if column in INT_COLUMNS:
        return int(text) if text else None
    if column in FLOAT_COLUMNS:
        return float(text) if text else None
    return text


class Journal:
    """The results file: CSV, one flushed line per finished point (Parquet: converted at the end)."""

    def __init__(self, out: str | os.PathLike, plan: SweepPlan):
        self.target = Path(out)
        self.parquet = self.target.suffix.lower() == ".parquet"
        self.path = self.target.with_name(self.target.name + ".journal.csv") if self.parquet else self.target
        self.plan = plan
        self.columns = columns(plan.keys)
        self._fh = None
        if self.parquet:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise SpecError(str(out), "--out", "writing Parquet needs pyarrow (pip install pyarrow); "
                                                   "or give a .csv file") from None

    def open(self, resume: bool, overwrite: bool) -> dict[int, dict]:
        """Start or continue the file; the rows already finished (typed), by point index."""
        present = [p for p in (self.path, self.target) if p.exists() and p.stat().st_size > 0]
        if present and not (resume or overwrite):
            raise SpecError(str(self.target), "--out", "the file exists; pass --resume to continue the sweep "
                                                       "that wrote it, or --overwrite to start again")
        check_output(self.target, "--out")     # a missing folder is an error, as for every output
        if overwrite or not present:
            for p in {self.path, self.target}:
                p.unlink(missing_ok=True)
        elif self.parquet and not self.path.exists():
            self._seed_from_parquet()
        done = self._read() if self.path.exists() else {}
        self._fh = open(self.path, "a", newline="")
        if self._fh.tell() == 0:
            self._write_line(self.columns)
        return done

    def _read(self) -> dict[int, dict]:
        data = self.path.read_bytes()
        cut = data[:data.rfind(b"\n") + 1]         # a last line cut short by a kill is dropped
        lines = cut.decode("utf-8", errors="replace").splitlines()
        done = self._parse(lines) if lines else {}
        if len(cut) < len(data):                    # only once the file is known to be this sweep's
            with open(self.path, "r+b") as fh:
                fh.truncate(len(cut))
        return done

    def _parse(self, lines: list[str]) -> dict[int, dict]:
        source = str(self.path)
        header = next(csv.reader(lines[:1]))
        if tuple(header) != self.columns:
            raise SpecError(source, "--resume", "this file was written by a sweep over other keys "
                            f"({', '.join(c for c in header if '.' in c) or 'none'}); resume the same sweep, "
                            "or use another --out (or --overwrite)")
        done: dict[int, dict] = {}
        for n, cells in enumerate(csv.reader(lines[1:]), start=2):
            if len(cells) != len(self.columns) or not cells[0].isdigit():
                raise SpecError(source, f"line {n}", "not a row of this sweep; use another --out (or --overwrite)")
            row = dict(zip(self.columns, cells, strict=True))
            index = int(row["point"])
            if index >= len(self.plan) or self.plan.point(index).hash != row["point_hash"]:
                raise SpecError(source, f"line {n}", f"point {index} was written by a different sweep (other "
                                "values, arch, network, input, batch or --set); resume the same sweep, or use "
                                "another --out (or --overwrite)")
            if index not in done:
                done[index] = self._from_cells(row)
        return done

    def _from_cells(self, cells: dict) -> dict:
        point = self.plan.point(int(cells["point"]))
        row = {c: _typed(c, cells[c]) for c in self.columns if c not in point.values}
        row.update(point.values)
        return {c: row[c] for c in self.columns}

    def _seed_from_parquet(self) -> None:
        import pyarrow.parquet as pq

        rows = pq.read_table(self.target).to_pylist()
        with open(self.path, "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(self.columns)
            for row in rows:
                writer.writerow([_cell(c, row.get(c)) for c in self.columns])

    def _write_line(self, cells) -> None:
        csv.writer(self._fh, lineterminator="\n").writerow(cells)
        self._fh.flush()

    def write(self, row: dict) -> None:
        self._write_line([_cell(c, row.get(c)) for c in self.columns])

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self, rows: list[dict]) -> None:
        """Every point is done: the file sorted by point (CSV), or the Parquet file from the journal."""
        self.close()
        tmp = self.target.with_name(self.target.name + ".tmp")
        if self.parquet:
            _write_parquet(rows, self.columns, self.plan.keys, tmp)
            os.replace(tmp, self.target)
            self.path.unlink(missing_ok=True)
            return
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(self.columns)
            for row in rows:
                writer.writerow([_cell(c, row.get(c)) for c in self.columns])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.target)


def key_kind(values: list) -> str:
    """'int', 'float', 'bool' or 'str': how a swept key's column is typed in Parquet and pandas."""
    kinds = {"bool" if isinstance(v, bool) else "int" if isinstance(v, int) else
             "float" if isinstance(v, float) else "str" for v in values}
    if kinds <= {"int"}:
        return "int"
    if kinds <= {"int", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 and kinds != {"str"} else "str"


def _write_parquet(rows: list[dict], cols: tuple, keys: tuple, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}
    data, fields = {}, []
    for c in cols:
        values = [row.get(c) for row in rows]
        if c in keys:
            kind = key_kind(values)
            values = [value_text(v) for v in values] if kind == "str" else values
            typ = arrow[kind]
        else:
            typ = pa.int64() if c in INT_COLUMNS else pa.float64() if c in FLOAT_COLUMNS else pa.string()
        fields.append(pa.field(c, typ))
        data[c] = values
    pq.write_table(pa.Table.from_pydict(data, schema=pa.schema(fields)), path)


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------

@dataclass
class SweepOutcome:
    """What a run of a sweep left: every finished row (sorted by point) and how it went."""
    plan: SweepPlan
    rows: list[dict]
    resumed: int = 0                      # rows read back from the file
    ran: int = 0                          # rows finished by this run
    wall_s: float = 0.0
    backend: str = ""
    out: Path | None = None
    complete: bool = False

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] != OK]

    @property
    def points_per_minute(self) -> float:
        return 60 * self.ran / self.wall_s if self.wall_s else 0.0


def _network(plan: SweepPlan):
    from simulator.workload import load_network

    net = plan.network
    if hasattr(net, "layers"):
        if plan.input is None and plan.batch == net.batch:
            return net
        if net.source_path is None:
            raise SpecError("<python>", "network", "a Network built in Python cannot be re-shaped for another "
                                                   "input or batch; pass its YAML path instead")
        net = net.source_path
    return load_network(net, input_size=plan.input, batch=plan.batch)


def run_sweep(plan: SweepPlan, out=None, resume: bool = False, overwrite: bool = False, workers: int | None = None,
              scheduler=None, progress: bool | None = None,
              on_row: Callable[[dict], None] | None = None) -> SweepOutcome:
    """Run every point of `plan` not already in `out`; rows are journaled as they finish.

    A SpecError is raised before anything runs when the base arch (with the fixed overrides), the
    network, the output file or the backend is wrong; a point that fails is a row. Interrupted
    (KeyboardInterrupt, SweepAborted), the file keeps every finished point for `resume=True`.
    """
    from simulator.spec import load_arch

    t0 = time.perf_counter()
    check_workers(workers)
    load_arch(plan.arch, plan.fixed)                 # the base spec is sound (else nothing is run)
    network = _network(plan)
    journal = Journal(out, plan) if out is not None else None
    client, own_client = dask_client(scheduler) if scheduler is not None else (None, False)
    results = None
    try:
        done = journal.open(resume, overwrite) if journal else {}
        rows = dict(done)
        todo = [i for i in range(len(plan)) if i not in done]
        jobs = (_prepare(plan, plan.point(i)) for i in todo)
        if client is not None:
            backend = f"Dask cluster at {client.scheduler.address}"
            results = _dask(jobs, network, plan.ideal_memory, client)
        else:
            n = min(workers or default_workers(), max(1, len(todo)))
            backend = "this process" if n == 1 else f"{n} local worker processes"
            results = _inline(jobs, network, plan.ideal_memory) if n == 1 else \
                _local_pool(jobs, network, plan.ideal_memory, n)
        outcome = SweepOutcome(plan, [], resumed=len(done), backend=backend,
                               out=journal.target if journal else None)
        with _Progress(progress, len(plan), len(done), sum(r["status"] != OK for r in done.values())) as bar:
            for job, result in results:
                row = {**job.row, **result}
                row = {c: row.get(c) for c in columns(plan.keys)}
                rows[job.point.index] = row
                if journal:
                    journal.write(row)
                outcome.ran += 1
                bar.advance(row["status"] == OK)
                if on_row:
                    on_row(row)
        outcome.rows = [rows[i] for i in sorted(rows)]
        outcome.complete = len(rows) == len(plan)
        if journal and outcome.complete:
            journal.finish(outcome.rows)
        outcome.wall_s = time.perf_counter() - t0
        return outcome
    finally:
        if results is not None:
            results.close()                          # stops the pool (pending points are cancelled)
        if journal:
            journal.close()
        if own_client:
            client.close()


class _Progress:
    """A rich progress bar with ETA on stderr, shown only when stderr is a terminal (or forced)."""

    def __init__(self, show: bool | None, total: int, done: int, failed: int):
        self.bar = None
        self.ok, self.failed = done - failed, failed
        from rich.console import Console

        console = Console(stderr=True)
        if show is False or (show is None and not console.is_terminal):
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(), console=console, transient=False)
        self.task = self.bar.add_task("sweep", total=total, completed=done, status=self._status())

    def _status(self) -> str:
        return f"ok {self.ok}" + (f", failed {self.failed}" if self.failed else "")

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def advance(self, ok: bool) -> None:
        self.ok += ok
        self.failed += not ok
        if self.bar:
            self.bar.update(self.task, advance=1, status=self._status())

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()
