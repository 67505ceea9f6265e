"""The three ways engine code is compiled, and why (docs/performance.md, "first run").

- `entry`: a function Python calls (`run_program`, the DRAM test API). `@njit(cache=True)`: its
  machine code, with every helper it calls linked in, is cached on disk per argument types.
- `helper`: a function only compiled code calls. Numba types a constant argument (an event
  kind, a resource id) as a literal, and compiles a plain `@njit` callee once per distinct
  literal: the old engine compiled its event push 19 times. A helper is registered as an
  overload that is typed with non-literal arguments first, so it is compiled once per argument
  types (and linked into its callers, where LLVM inlines it when that pays).
- `kernel`: a helper compiled without the Numba runtime: no reference counting, so reading
  the arrays out of a record costs nothing; it must not allocate. Most engine code is kernels.

No helper uses Numba's `inline="always"`: it re-types the callee's IR at every call site, which
made the cycle-level DRAM kernels take 10 s each to compile. Where a call on a hot path must go
(a call passes every array as about ten machine arguments), `kernel(inline=True)` asks LLVM to
inline it instead, which costs little compile time.
"""
from numba import njit
from numba.extending import register_jitable


def entry(fn):
    return njit(cache=True)(fn)


# Called from compiled code only: no wrappers for calls from Python or C (less to compile).
_INTERNAL = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}


def helper(fn):
    return register_jitable(**_INTERNAL)(fn)


def kernel(fn=None, *, inline=False):
    """`@kernel`, or `@kernel(inline=True)` for a function on a hot path: LLVM inlines it into
    its callers (`forceinline`: machine-code inlining, no re-typing in Numba)."""
    def wrap(f):
        return register_jitable(_nrt=False, forceinline=bool(inline), **_INTERNAL)(f)
    return wrap(fn) if fn is not None else wrap
