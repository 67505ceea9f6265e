"""Integer codes: the one definition, shared by the engine and the Python that builds its arrays.

The mapping (mapping/program.py, mapping/placement.py) writes the tile program with these
codes; resources/ lowers spec names to them; reports read them back.
"""

# event kinds (simultaneous events run in the order they were pushed: sequence numbers)
EV_WAKE = 0          # a unit re-checks whether it can issue loads or start computing
EV_STAGE1 = 1        # a chunk of a transfer enters the first resource on its path
EV_STAGE2 = 2        # a chunk enters the second resource
EV_XFER_DONE = 3     # the last byte of a transfer has landed
EV_COMPUTE_DONE = 4  # a tile's compute has ended
EV_NOC_DONE = 5      # the interconnect finished a chunk; the arbiter picks the next
EV_DRAM = 6          # the cycle-level DRAM has a command or a completion due

# resources; DRAM and SRAM equal the mapping's memory ids
RES_DRAM = 0
RES_SRAM = 1
RES_NOC = 2
NUM_RESOURCES = 3
RESOURCE_NAMES = ("dram", "sram", "interconnect")
# what held an operand back (acc_res columns): the resources, with the cycle-level DRAM's share
# split further: "dram" keeps queueing and the data bus, these two take the rest
HELD_DRAM_BANK = 3     # row activation and precharge timing (tRCD, tRP, tRAS, ...)
HELD_DRAM_REFRESH = 4  # the channel was refreshing
NUM_HELD = 5
HELD_NAMES = RESOURCE_NAMES + ("dram_bank", "dram_refresh")

# interconnect arbitration (registry: resources/memory.py ARBITRATION_CODES)
ARB_ROUND_ROBIN = 0
ARB_FIXED_PRIORITY = 1

# DRAM models
DRAM_BANDWIDTH = 0   # a bandwidth-and-latency server at the channels' aggregate peak
DRAM_CYCLE = 1       # engine/dram.py: banks, rows, FR-FCFS, refresh; every burst simulated

# transfer kinds and directions
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

# "no such time": later than any cycle a run reaches
NEVER = 1 << 62
# a resource offered a chunk cannot say yet when it leaves (its own events will)
PENDING = -1

# transfers move in chunks so that concurrent transfers interleave on a shared resource
CHUNK_BYTES = 2048
# a stage-2 event's id is (transfer << CHUNK_ID_BITS) | chunk index
CHUNK_ID_BITS = 24
CHUNK_ID_MASK = (1 << CHUNK_ID_BITS) - 1
