"""Where a training step's time goes, per backend: each backend's own profiler, ops grouped.

`benchmarks.profile` runs one case per process; these modules do the measuring inside it:
`torch_ops` (torch.profiler), `tensorflow_ops` and `jax_ops` (the TensorFlow and JAX
profilers, both read from the XPlane trace they write, by `xplane`). Every op's time goes to
exactly one of `GROUPS`.
"""

GROUPS = (
    "convolution forward",
    "convolution backward",
    "Adam update",
    "copies and casts",
    "matrix products",
    "element-wise, reductions and the rest",
)
OTHER = GROUPS[-1]
