"""Workloads: networks as DAGs of shaped layers, loaded from the YAML format in kernels/.

`load_network("yolov3", input_size=(608, 608), batch=1)` returns a `Network` whose `layers`
are frozen `Layer`s in topological order; `bundled_networks()` lists the bundled files.
"""
from simulator.workload.from_yaml import (NetworkFile, bundled_networks, kernels_dir,
                                          load_network, parse_network_file)
from simulator.workload.graph import INPUT_NODE, Network, build_network
from simulator.workload.ops import ACTIVATIONS, MAC_OPS, OPS, Layer, LayerSpec

__all__ = [
    "ACTIVATIONS", "INPUT_NODE", "MAC_OPS", "OPS", "Layer", "LayerSpec", "Network",
    "NetworkFile", "build_network", "bundled_networks", "kernels_dir", "load_network",
    "parse_network_file",
]
