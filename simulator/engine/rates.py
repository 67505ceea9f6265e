"""Integer service times: every resource rate is an exact fraction num/den bytes per core cycle."""
from simulator.engine.jit import kernel


@kernel
def duration(nbytes, num, den):
    """Core cycles to serve nbytes at num/den bytes per cycle: ceil(nbytes * den / num)."""
    return (nbytes * den + num - 1) // num
