import ctypes
import ctypes.util
import os
import platform
import subprocess
import sys
import textwrap

import keras
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


def in_fresh_process(code: str) -> str:
    """Run `code` in a new interpreter (the allocator settings it makes end with it) and
    return what it prints."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != runtime.OPT_OUT},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


@glibc
def test_large_blocks_come_from_the_heap_once_applied():
    printed = in_fresh_process("""
        import numpy as np
        from flexseg import runtime
        from tests.test_runtime import mmapped_bytes
        def mmapped_by_a_block():  # 64 MiB: glibc mmaps it by default
            before = mmapped_bytes()
            block = np.ones(64 * 2**20, dtype=np.uint8)
            return mmapped_bytes() - before
        default = mmapped_by_a_block()
        applied = runtime.keep_freed_memory()
        print(default, applied, mmapped_by_a_block())
    """)
    default, applied, after = printed.split()
    assert int(default) >= 64 * 2**20  # the test can tell the two apart
    assert applied == "True" and int(after) < 2**20


@glibc
def test_applied_on_torch_only():
    printed = in_fresh_process("""
        from flexseg import runtime
        print(runtime.speed_up_process())
    """)
    expected = ["keep_freed_memory"] if keras.backend.backend() == "torch" else []
    assert printed == repr(expected)


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


@glibc
def test_fit_callback_restores_what_tensorflows_dataset_resets():
    printed = in_fresh_process("""
        import ctypes, ctypes.util
        import numpy as np
        from flexseg import runtime
        from tests.test_runtime import MallInfo2
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = MallInfo2
        def kept_after_freeing_a_block():  # 32 MiB from the heap, freed: trimmed or kept?
            block = np.ones(32 * 2**20, dtype=np.uint8)
            del block
            return libc.mallinfo2().keepcost
        runtime.keep_freed_memory()
        kept = kept_after_freeing_a_block()
        libc.mallopt(-1, 128 * 1024)  # what TensorFlow's generator dataset sets
        trimmed = kept_after_freeing_a_block()
        runtime.KeepFreedMemory().on_epoch_begin(0)
        print(kept, trimmed, kept_after_freeing_a_block())
    """)
    kept, trimmed, restored = map(int, printed.split())
    assert kept >= 32 * 2**20 and trimmed < 2**20  # the test can tell the two apart
    assert restored >= 32 * 2**20


def test_fit_gets_the_callback_on_tensorflow_only(monkeypatch):
    monkeypatch.delenv(runtime.OPT_OUT, raising=False)
    names = [type(c).__name__ for c in runtime.fit_callbacks()]
    assert names == (["KeepFreedMemory"] if keras.backend.backend() == "tensorflow" else [])
