"""The three ways engine code is compiled, and why (docs/performance.md, "First run").

- `entry`: a function Python calls (`run_program`). `@njit(cache=True)`: its machine code, with
  every function it calls linked in, is cached on disk per argument types. Loading it is made
  cheaper than Numba's own cache does (`_EntryCache`: no refresh of the compiler's registries, the
  library's symbol names kept instead of its bitcode): about 0.1 s less per process.
- `helper`: a function only compiled code calls, that allocates (state constructors, the event
  queue's growth, the accounting). Numba types a constant argument (an event kind, a resource
  id) as a literal and compiles a plain `@njit` callee once per distinct literal: the old engine
  compiled its event push 19 times. A helper is registered as an overload, typed with
  non-literal arguments first, so it is compiled once per argument types.
- `kernel`: a helper that does not allocate: compiled without the Numba runtime (no reference
  counting, so reading the arrays out of a record costs nothing), and inlined by LLVM into its
  callers (`forceinline`: a call would pass every array as about ten machine arguments). Most
  engine code is kernels.

Numba compiles an overload once per signature *and per set of caller options*, so a function
called both from the entry (runtime on) and from kernels (runtime off, inlined) is compiled
twice: run_program calls only kernels that nothing else calls. tests/engine/test_compile.py
checks that a first run compiles every engine function once, and only the DRAM model it uses.

No function uses Numba's `inline="always"`: it re-types the callee's IR at every call site, which
made the cycle-level DRAM kernels take 10 s each to compile.
"""
import gc
import hashlib
from pathlib import Path

# numba and llvmlite are most of what a run imports: imported with the cyclic GC's young
# collections skipped, as simulator/__init__.py does for the rest (it says why)
_gc_was_on = gc.isenabled()
gc.disable()
try:
    from llvmlite import binding as llvm
    from llvmlite import ir as llvm_ir
    from numba import njit
    from numba.core import caching
    from numba.core.runtime import rtsys
    from numba.extending import register_jitable
finally:
    if not gc.get_freeze_count():
        gc.freeze()
        gc.unfreeze()
    if _gc_was_on:
        gc.enable()

ENGINE_DIR = Path(__file__).resolve().parent


def _engine_sources_digest() -> str:
    """One stamp for every engine source: a cached entry point links in helpers from other files."""
    h = hashlib.sha256()
    for path in sorted(ENGINE_DIR.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _install_engine_locators() -> None:
    """Make Numba's disk cache of engine functions depend on all engine sources, not one file.

    Numba checks only the file that defines a cached function, so after an edit to, say,
    sram.py, `run_program` (core.py) would go on running the old code. These locators find the
    cache where Numba's own would (NUMBA_CACHE_DIR, the package's __pycache__, the user cache)
    and stamp it with a digest of engine/*.py.
    """
    stamp = _engine_sources_digest()
    writable = set()
    made = []
    for name in ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator"):
        base = getattr(caching, name, None) or getattr(caching, "_" + name, None)
        if base is None:
            continue

        class EngineLocator(base):
            @classmethod
            def from_function(cls, py_func, py_file):
                if Path(py_file).resolve().parent != ENGINE_DIR:
                    return None
                return super().from_function(py_func, py_file)

            def get_source_stamp(self):
                return stamp

            def ensure_cache_path(self):
                # Numba checks the folder is writable (a temporary file made and deleted) for each
                # cached function as it is decorated; the engine's functions share one folder
                path = self.get_cache_path()
                if path in writable and Path(path).is_dir():
                    return
                super().ensure_cache_path()
                writable.add(path)
        made.append(EngineLocator)
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    impl._locator_classes[:0] = made


_install_engine_locators()


def _names_module(bitcode: bytes) -> bytes:
    """A module defining (as bytes) every symbol `bitcode` defines, and nothing else.

    Numba caches an entry point as its machine code plus the LLVM bitcode of the whole library
    (for inlining into another library that calls it), and on loading parses that bitcode only
    to learn which symbols the machine code defines. Nothing links an engine entry point into
    other code (Python calls it), so the cache keeps the names only: 0.7 MB less to parse
    for the cycle model. The bitcode is kept when the names cannot be written back exactly.
    """
    full = llvm.parse_bitcode(bitcode)
    names = sorted({v.name for group in (full.functions, full.global_variables) for v in group
                    if not v.is_declaration})
    mod = llvm_ir.Module("npusim.entry_symbols")
    for name in names:
        var = llvm_ir.GlobalVariable(mod, llvm_ir.IntType(8), name)
        var.initializer = llvm_ir.Constant(llvm_ir.IntType(8), 0)
    out = llvm.parse_assembly(str(mod))
    if sorted(v.name for v in out.global_variables) != names:
        return bitcode
    return out.as_bitcode()


class _EntryCacheImpl(caching.CompileResultCacheImpl):
    """Numba's cache entry for a compile result, with the library's bitcode cut to its names."""

    def reduce(self, cres):
        (name, kind, data), *rest = super().reduce(cres)
        if kind == "object":
            object_code, bitcode = data
            data = (object_code, _names_module(bitcode))
        return ((name, kind, data), *rest)


class _EntryCache(caching.FunctionCache):
    """Numba's per-function disk cache, made cheaper to load from.

    Numba's own cache first refreshes the compiler's target context: it imports and registers
    every typing and lowering rule (numba.np.*, numba.cpython.*, ...), about 0.1 s per process,
    which only compiling needs. Loading cached machine code needs the runtime (NRT) only; the
    full refresh is made when the entry is not cached and is about to be compiled (Numba's
    compiler refreshes again itself).
    """
    _impl_class = _EntryCacheImpl

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            cres = self._load_overload(sig, target_context)
            if cres is not None:
                return cres
        target_context.refresh()
        return None


def entry(fn):
    dispatcher = njit(fn)
    if hasattr(dispatcher, "_cache"):      # not the plain function NUMBA_DISABLE_JIT=1 gives
        dispatcher._cache = _EntryCache(fn)
    return dispatcher


# Called from compiled code only: no wrappers for calls from Python or C (less to compile).
_INTERNAL = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}


def helper(fn):
    return register_jitable(**_INTERNAL)(fn)


# Kernels: no Numba runtime, and LLVM inlines them into their callers.
KERNEL_OPTIONS = {"_nrt": False, "forceinline": True, **_INTERNAL}


def kernel(fn):
    return register_jitable(**KERNEL_OPTIONS)(fn)
