"""U²-Net (Qin et al. 2020): a U-Net of residual U-blocks (RSU), with a softmax head for any
number of classes.

Example:
    >>> import flexseg
    >>> model = flexseg.build("u2net", num_classes=6, input_shape=(64, 64, 3), base_filters=8,
    ...                       num_layers=4)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import layers

from flexseg.models import blocks, checks
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    check_size,
    classifier,
    common_settings,
    model_input,
)
from flexseg.registry import register_model

REFERENCE = (
    "Qin et al.: U²-Net: Going Deeper with Nested U-Structure for Salient Object Detection "
    "(Pattern Recognition 2020), arXiv:2005.09007."
)


def stage_plan(base_filters: int, num_layers: int) -> list[dict]:
    """Per encoder stage: RSU height, dilated or not, mid and out filters (the paper's rule).

    Example:
        >>> [(s["height"], s["dilated"], s["mid"], s["out"]) for s in stage_plan(64, 6)][:2]
        [(7, False, 32, 64), (6, False, 32, 128)]
    """
    plan = []
    for stage in range(num_layers):
        dilated = stage >= num_layers - 2 and num_layers > 2
        plan.append(
            {
                "height": max(7 - stage, 4),
                "dilated": dilated,
                "mid": max(base_filters // 2, 1) * 2 ** min(max(stage - 1, 0), 3),
                "out": base_filters * 2 ** min(stage, 3),
            }
        )
    return plan


def size_multiple(plan: list[dict]) -> int:
    """What height and width must divide by: pools between stages plus inside each RSU."""
    return max(2 ** (s + (0 if p["dilated"] else p["height"] - 2)) for s, p in enumerate(plan))


def search_space(hp, input_shape):
    """Width, number of stages and the fused side outputs."""
    sizes = [s for s in input_shape[:2] if s]
    stages = [n for n in (4, 5, 6) if all(s % size_multiple(stage_plan(8, n)) == 0 for s in sizes)]
    return {
        "base_filters": hp.Choice("base_filters", [16, 32, 64]),
        "num_layers": hp.Choice("num_layers", stages or [4]),
        "side_outputs": hp.Boolean("side_outputs", default=True),
    }


@register_model("u2net", reference=REFERENCE, search_space=search_space)
class U2Net(SegmentationModel):
    """U²-Net: every stage is an RSU block (a small U-Net with a residual connection); the
    two deepest stages are dilated RSU-4F blocks that keep their resolution.

    Args:
        num_classes: output classes (softmax; the original's U2Net had a one-channel head).
        input_shape: (height, width, channels); sizes must be multiples of 32 with the
            default 6 stages (the error names the multiple for other depths).
        base_filters: output filters of the first stage (paper U²-Net: 64).
        num_layers: encoder stages (paper: 6); RSU heights 7, 6, 5, 4, then RSU-4F.
        normalization, activation, input_normalize: as in `unet`.
        side_outputs: the paper's fusion: a 3x3 class head on every decoder stage and the
            deepest encoder stage, up-sampled and fused by a 1x1 convolution. Without it,
            one head on the last decoder stage.

    Example:
        >>> model = U2Net(num_classes=3, input_shape=(32, 32, 3), base_filters=4, num_layers=3)
        >>> model.size_multiple
        32
    """

    input_sizes = "multiples of 32 (6 stages)"

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        base_filters: int = 64,
        num_layers: int = 6,
        normalization: bool = True,
        activation: str = "relu",
        side_outputs: bool = True,
        input_normalize: bool = True,
        name: str = "u2net",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "u2net"
        common = common_settings(
            model,
            num_classes=num_classes,
            input_shape=input_shape,
            base_filters=base_filters,
            activation=activation,
            normalization=normalization,
        )
        num_layers = checks.positive_int("num_layers", num_layers, model=model, minimum=2)
        plan = stage_plan(common.base_filters, num_layers)
        multiple = size_multiple(plan)
        reason = f"{num_layers} stages of RSU blocks pool {multiple.bit_length() - 1} times"
        check_size(common.input_shape, multiple, model=model, reason=reason)
        style = {"normalization": common.normalization, "activation": common.activation}

        inputs, x = model_input(common, input_normalize)
        encoder = []
        for stage, p in enumerate(plan):
            if stage > 0:
                x = layers.MaxPooling2D(2, name=f"enc{stage - 1}_pool")(x)
            x = blocks.rsu_block(
                x,
                height=p["height"],
                mid_filters=p["mid"],
                out_filters=p["out"],
                dilated=p["dilated"],
                name=f"enc{stage}",
                **style,
            )
            encoder.append(x)
        decoded = {num_layers - 1: x}
        for stage in range(num_layers - 2, -1, -1):
            p = plan[stage]
            up = blocks.upsample(x, name=f"dec{stage}", method="bilinear")
            out = plan[stage - 1]["out"] if stage > 0 else common.base_filters
            x = blocks.rsu_block(
                blocks.concat([up, encoder[stage]], name=f"dec{stage}"),
                height=p["height"],
                mid_filters=max(out // 2, 1),
                out_filters=out,
                dilated=p["dilated"],
                name=f"dec{stage}",
                **style,
            )
            decoded[stage] = x
        if side_outputs:
            sides = []
            for stage in range(num_layers):
                side = layers.Conv2D(common.num_classes, 3, padding="same", name=f"side{stage}")(
                    decoded[stage]
                )
                if stage > 0:
                    side = blocks.upsample(
                        side, name=f"side{stage}", method="bilinear", factor=2**stage
                    )
                sides.append(side)
            x = blocks.concat(sides, name="sides")
        super().__init__(
            inputs,
            classifier(x, common.num_classes),
            settings=settings,
            size_multiple=multiple,
            size_reason=reason,
            name=name,
            **kwargs,
        )
