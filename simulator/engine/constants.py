"""Integer codes shared by the engine and the Python that builds its arrays (read-only)."""

# event kinds, in the order ties at one time are *not* broken by (ties go by sequence number)
EV_WAKE = 0          # a unit re-checks whether it can issue loads or start computing
EV_STAGE1 = 1        # a chunk of a transfer enters the first resource on its path
EV_STAGE2 = 2        # a chunk enters the second resource
EV_XFER_DONE = 3     # the last byte of a transfer has landed
EV_COMPUTE_DONE = 4  # a tile's compute has ended

# resources (servers); DRAM and SRAM equal the mapping's memory ids
RES_DRAM = 0
RES_SRAM = 1
RES_NOC = 2
NUM_RESOURCES = 3

# transfer kinds and directions (equal to mapping.program's)
KIND_WEIGHTS = 0
KIND_INPUTS = 1
KIND_OUTPUTS = 2
LOAD = 0
STORE = 1

# per-tile accounting columns returned by the engine
ACC_DEPENDENCY = 0
ACC_WEIGHTS = 1
ACC_INPUTS = 2
ACC_OUTPUTS = 3
ACC_SETUP = 4
NUM_ACC = 5

# transfers move in chunks so that concurrent transfers interleave on a shared resource
CHUNK_BYTES = 2048
