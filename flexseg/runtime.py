"""Process settings that make a backend faster: what `flexseg train`, `tune` and `infer` apply.

On the torch backend, each training step allocates and frees hundreds of megabytes (Keras's
optimizer and layout conversions create new tensors). glibc hands blocks that large out with
`mmap` and gives them back on `free`, so every step pays page faults on fresh memory.
`keep_freed_memory` tells glibc to serve them from the heap and keep what is freed, which is
what PyTorch's CPU tuning guide gets by swapping in jemalloc or tcmalloc, without `LD_PRELOAD`.
Measured back to back on the project's 2-core CPU, the original's MVTec-screw FlexUNet trains
1.75x faster on torch with it (4.5 s to 2.6 s a step at 256x256, batch 2), for 6% more peak
memory; `benchmarks/results/backends_cpu.md` is measured with it. TensorFlow gained nothing
from it at process start (it has its own allocator for tensors), so `speed_up_process`
applies it on torch only.

On TensorFlow, `model.fit` on a PyDataset runs a tf.data generator dataset, whose iterator
sets glibc's trim threshold to 128 KB ("Memory patch applied" in the log): the Python side's
freed batches are then handed back and faulted in again at every step. `fit_callbacks()`
gives fit a callback that restores the setting as each epoch and each validation pass
starts; measured once on the 2-core CPU (3 epochs of flexunet_cpu_demo, 120 images of 128 px,
float32), kernel time fell from 38.8 s to 2.7 s and the wall time from 71 s to 43 s.

Set `FLEXSEG_KEEP_FREED_MEMORY=0` to leave the allocator alone.

`resolve_precision("auto")`, the default of `train.precision`, picks mixed bfloat16 where it
was measured to pay without costing accuracy: TensorFlow on a CPU with native bfloat16
(1.47x the float32 training speed on the MVTec-screw FlexUNet with flexseg's speed-ups,
benchmarks/results/backends_cpu.md; over four seeds of the demo's recipe no score difference
was detected, `benchmarks/results/precision_cpu.md`). Everywhere else it is float32: JAX's
CPU bfloat16 is not faster; torch's is (benchmarks/results/backends_cpu.md), but over five
seeds it scored 0.022 below float32 on validation on average, outside the 0.02 parity
bound (benchmarks/results/precision_torch_merged_cpu.md).

Example:
    >>> from flexseg.runtime import resolve_precision, speed_up_process
    >>> isinstance(speed_up_process(), list)
    True
    >>> resolve_precision("float32")
    'float32'
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from pathlib import Path

import keras

from flexseg.config.schema import PRECISIONS

OPT_OUT = "FLEXSEG_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_MAX = -4
_KEEP_UP_TO = 1 << 30  # bytes of freed memory kept at the top of the heap
_NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16 or AMX), from /proc/cpuinfo."""
    try:
        flags = Path(cpuinfo).read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False
    return any(flag in flags for flag in _NATIVE_BFLOAT16_FLAGS)


def resolve_precision(precision: str) -> str:
    """A Keras dtype policy for `train.precision`: "auto" resolved here, others as given."""
    if precision in PRECISIONS:
        return precision
    if precision != "auto":
        raise ValueError(
            f"precision {precision!r}: expected 'auto' or one of {', '.join(PRECISIONS)}."
        )
    if (
        keras.backend.backend() == "tensorflow"
        and not keras.distribution.list_devices("gpu")
        and cpu_has_native_bfloat16()
    ):
        return "mixed_bfloat16"
    return "float32"


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to serve large blocks from the heap and keep freed memory.

    Returns whether it was applied: False on other C libraries or when the opt-out is set.
    """
    if not _may_keep_freed_memory():
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_UP_TO))


def _may_keep_freed_memory() -> bool:
    """glibc, and the opt-out not set."""
    if os.environ.get(OPT_OUT, "1").strip() == "0":
        return False
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


class KeepFreedMemory(keras.callbacks.Callback):
    """Re-applies `keep_freed_memory` when an epoch, its first batch or a validation pass
    starts: after TensorFlow's generator dataset has set the trim threshold back to 128 KB."""

    def on_epoch_begin(self, epoch, logs=None):
        keep_freed_memory()

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            keep_freed_memory()

    def on_test_batch_begin(self, batch, logs=None):
        if batch == 0:
            keep_freed_memory()


def fit_callbacks() -> list[keras.callbacks.Callback]:
    """What `model.fit` needs for the current backend's process settings (see above)."""
    if keras.backend.backend() == "tensorflow" and _may_keep_freed_memory():
        return [KeepFreedMemory()]
    return []


def speed_up_process() -> list[str]:
    """Apply the current backend's process settings; returns the names of those applied."""
    applied = []
    if keras.backend.backend() == "torch" and keep_freed_memory():
        applied.append("keep_freed_memory")
    return applied
