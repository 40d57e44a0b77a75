#!/usr/bin/env bash
# The whole GPU measurement of the benchmarks issue, in at most 8 minutes on one GPU:
# FlexUNet with the original's MVTec-screw settings at 512x512, batch 8, on every backend
# that is installed, float32 and bfloat16 mixed precision, compiled (XLA on TensorFlow and
# JAX; Keras's default eager mode on torch: torch.compile, the torch/on: variant, is left out
# to stay within 8 minutes), with the raw PyTorch and JAX references. Writes JSON and
# Markdown with the device named.
#
#   bash benchmarks/gpu.sh [OUT_DIR]      # default benchmarks/results
#
# PYTHON picks the interpreter (default python3); BACKENDS limits the backends. With more
# than one GPU, every Keras variant also runs data-parallel over all of them (same global
# batch: the rows compare one GPU with all).
set -euo pipefail
cd "$(dirname "$0")/.."
out_dir=${1:-benchmarks/results}
python=${PYTHON:-python3}

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "benchmarks/gpu.sh: no NVIDIA GPU found (nvidia-smi -L failed); nothing measured." >&2
    exit 2
fi
nvidia-smi -L

# Only the backends whose framework is installed; say which are left out and why.
backends=""
for backend in ${BACKENDS:-tensorflow jax torch}; do
    if "$python" -c "import $backend" 2>/dev/null; then
        backends="$backends,$backend"
    else
        echo "benchmarks/gpu.sh: $backend is not installed here; left out." >&2
    fi
done
backends=${backends#,}
[ -n "$backends" ] || { echo "benchmarks/gpu.sh: no backend installed." >&2; exit 2; }

gpus=$(nvidia-smi -L | grep -c '^GPU')
data_parallel=""
if [ "$gpus" -gt 1 ]; then
    data_parallel="--data-parallel"
    echo "benchmarks/gpu.sh: $gpus GPUs: adding data-parallel rows."
fi
device=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '_' | tr -cd '[:alnum:]_-')
mkdir -p "$out_dir"
"$python" -m benchmarks.backends \
    --models flexunet_mvtec_screw --size 512 --batch 8 --backends "$backends" \
    --steps 10 --warmup 3 --timeout 150 $data_parallel \
    --variants "tensorflow/on:float32,tensorflow/on:bfloat16,jax/on:float32,jax/on:bfloat16,torch/auto:float32,torch/auto:bfloat16" \
    --json "$out_dir/backends_gpu_${device}.json" \
    --markdown "$out_dir/backends_gpu_${device}.md"
