"""`benchmarks.profile`: each backend's profile groups its ops as documented (speed itself is
never asserted here)."""

import json
from types import SimpleNamespace

import keras
import pytest

from benchmarks.profiling import GROUPS, OTHER
from benchmarks.profiling.xplane import Event

BACKEND = keras.backend.backend()


def test_torch_ops_under_adams_multi_tensor_ops_count_as_adam():
    from benchmarks.profiling.torch_ops import group_of

    foreach = SimpleNamespace(name="aten::_foreach_sqrt", cpu_parent=None)
    sqrt = SimpleNamespace(name="aten::sqrt", cpu_parent=foreach)
    assert group_of(sqrt) == "Adam update"
    assert group_of(SimpleNamespace(name="aten::sqrt", cpu_parent=None)) == OTHER
    assert group_of(SimpleNamespace(name="aten::convolution_backward", cpu_parent=None)) == (
        "convolution backward"
    )
    assert group_of(SimpleNamespace(name="aten::copy_", cpu_parent=None)) == "copies and casts"


def test_tensorflow_ops_grouped_by_scope_then_type():
    from benchmarks.profiling.tensorflow_ops import group_of, op_events

    backward = ("gradient_tape/m/conv/Conv2DBackpropFilter", "_MklNativeConv2DBackpropFilter")
    assert group_of(*backward) == "convolution backward"
    # a transposed convolution's forward pass runs as Conv2DBackpropInput outside the tape
    assert group_of("m/up/conv_transpose", "Conv2DBackpropInput") == "convolution forward"
    assert group_of("m/conv/BiasAdd", "_MklNativeFusedConv2D") == "convolution forward"
    assert group_of("adam/Sqrt_20", "Sqrt") == "Adam update"
    assert group_of("gradient_tape/m/up/einsum/Einsum", "_MklEinsum") == "matrix products"
    assert group_of("m/conv/Reshape/Cast", "Cast") == "copies and casts"
    assert group_of("m/bn/mul", "Mul") == OTHER

    def event(name, line="tf_Compute/1"):
        return Event(name, line, 0, 2_000_000_000, {})

    events = [event("m/conv/convolution:_MklNativeConv2D"), event("ExecutorState::Process"),
              event("m/a:Mul", line="python"), event("ParallelFor")]  # fmt: skip
    assert op_events(events) == [("m/conv/convolution", "_MklNativeConv2D", 2.0)]


@pytest.mark.skipif(BACKEND != "jax", reason="reads an HLO module XLA compiled")
def test_jax_ops_grouped_by_the_optimized_hlo():
    import jax
    import jax.numpy as jnp

    from benchmarks.profiling.jax_ops import group_of, hlo_instructions

    def loss(kernel, images, matrix):
        maps = jax.lax.conv_general_dilated(images, kernel, (1, 1), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))  # fmt: skip
        return jnp.sum(jnp.tanh(maps.reshape(-1, 4) @ matrix))

    args = (jnp.ones((3, 3, 2, 4)), jnp.ones((1, 8, 8, 2)), jnp.ones((4, 4)))
    # the gradient with respect to the kernel and the images: one convolution each
    text = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(*args).compile().as_text()
    convolutions = [
        group_of(opcodes, op_name)
        for opcodes, op_name in hlo_instructions(text).values()
        if "convolution" in opcodes and "fusion" not in opcodes
    ]
    assert sorted(convolutions) == [*["convolution backward"] * 2, "convolution forward"]
    assert group_of({"fusion", "transpose", "copy", "parameter"}, "x") == "copies and casts"
    assert group_of({"dot"}, "jit(train_step)/transpose(jvp(m))/dot_general") == "matrix products"
    assert group_of({"fusion", "multiply"}, "jit(train_step)/adam/mul") == "Adam update"
    assert group_of({"fusion", "multiply", "parameter"}, "jit(f)/jvp(m)/mul") == OTHER


def test_profile_benchmark_end_to_end(tmp_path):
    from benchmarks import profile

    out_json, out_md = tmp_path / "profile.json", tmp_path / "profile.md"
    argv = ["--backend", BACKEND, "--smoke", f"--json={out_json}", f"--markdown={out_md}"]
    assert profile.main(argv) == 0
    cases = json.loads(out_json.read_text())["cases"]
    assert [c["label"] for c in cases] == ["flexseg float32", "plain float32"]
    assert cases[0]["speedups"] and cases[1]["speedups"] == []
    for case in cases:  # every op's time lands in exactly one documented group
        assert set(case["groups_ms"]) <= set(GROUPS)
        assert sum(case["groups_ms"].values()) == pytest.approx(case["total_ms"])
        assert case["groups_ms"]["convolution forward"] > 0
        assert case["groups_ms"]["convolution backward"] > 0
        assert case["groups_ms"]["Adam update"] > 0
        assert case["wall_ms"] > 0
    assert "| convolution backward |" in out_md.read_text()
