"""Pure @njit code: imports numpy, numba and its siblings only. Python builds the arrays."""
