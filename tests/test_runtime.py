import ctypes
import ctypes.util
import platform

import keras
import numpy as np
import pytest

from flexseg import runtime

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")
    ]  # fmt: skip


def mmapped_bytes() -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2().hblkhd


def test_opt_out_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setenv(runtime.OPT_OUT, "0")
    assert runtime.keep_freed_memory() is False
    assert runtime.speed_up_process() == []


@glibc
def test_large_blocks_come_from_the_heap_once_applied(monkeypatch):
    monkeypatch.delenv(runtime.OPT_OUT, raising=False)
    assert runtime.keep_freed_memory() is True
    before = mmapped_bytes()
    block = np.ones(64 * 2**20, dtype=np.uint8)  # 64 MiB: glibc would mmap it by default
    assert mmapped_bytes() - before < 2**20
    del block


@glibc
def test_applied_on_torch_only(monkeypatch):
    monkeypatch.delenv(runtime.OPT_OUT, raising=False)
    expected = ["keep_freed_memory"] if keras.backend.backend() == "torch" else []
    assert runtime.speed_up_process() == expected


@pytest.mark.parametrize("precision", runtime.PRECISIONS)
def test_explicit_precisions_pass_through(precision):
    assert runtime.resolve_precision(precision) == precision


def test_unknown_precision_names_the_choices():
    with pytest.raises(ValueError, match=r"'float64'.*'auto' or one of float32, mixed_bfloat16"):
        runtime.resolve_precision("float64")


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bfloat16_for_tensorflow_on_a_bfloat16_cpu_only(native, monkeypatch):
    monkeypatch.setattr(runtime, "cpu_has_native_bfloat16", lambda: native)
    tensorflow = keras.backend.backend() == "tensorflow"
    bfloat16 = native and tensorflow and not keras.distribution.list_devices("gpu")
    assert runtime.resolve_precision("auto") == ("mixed_bfloat16" if bfloat16 else "float32")


def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path):
    with_flag, without = tmp_path / "with", tmp_path / "without"
    with_flag.write_text("flags\t\t: fpu sse2 avx512f avx512_bf16 fma\n")
    without.write_text("flags\t\t: fpu sse2 avx512f fma\n")
    assert runtime.cpu_has_native_bfloat16(str(with_flag)) is True
    assert runtime.cpu_has_native_bfloat16(str(without)) is False
    assert runtime.cpu_has_native_bfloat16(str(tmp_path / "missing")) is False
