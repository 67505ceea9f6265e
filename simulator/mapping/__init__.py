"""Mapping: tiling of each layer onto the arrays, tensor placement, and the tile program."""
