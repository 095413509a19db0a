"""The spectral bands a tile has, in order (shared by the workload and the upload format)."""

BANDS = ("blue", "green", "red", "nir")
