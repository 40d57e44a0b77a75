"""U²-Net (Qin et al. 2020): a U-Net of residual U-blocks (RSU), with a softmax head for any
number of classes."""

from __future__ import annotations

from keras import layers

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import POOLED_DEFAULTS, SegmentationModel, classifier, settings_table

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


@register_model("u2net", reference=REFERENCE)
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
    defaults = settings_table(
        POOLED_DEFAULTS,
        without=("dropout_rate",),
        base_filters=64,
        num_layers=6,
        side_outputs=True,
    )

    def check(self, s):
        stages = s.positive_int("num_layers", minimum=2)
        multiple = size_multiple(stage_plan(s.base_filters, stages))
        reason = f"{stages} stages of RSU blocks pool {multiple.bit_length() - 1} times"
        return s.with_size(multiple, reason)

    def graph(self, x, s):
        stages = s["num_layers"]
        plan = stage_plan(s.base_filters, stages)
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
                **s.norm_act,
            )
            encoder.append(x)
        decoded = {stages - 1: x}
        for stage in range(stages - 2, -1, -1):
            p = plan[stage]
            up = blocks.upsample(x, name=f"dec{stage}", method="bilinear")
            out = plan[stage - 1]["out"] if stage > 0 else s.base_filters
            x = blocks.rsu_block(
                blocks.concat([up, encoder[stage]], name=f"dec{stage}"),
                height=p["height"],
                mid_filters=max(out // 2, 1),
                out_filters=out,
                dilated=p["dilated"],
                name=f"dec{stage}",
                **s.norm_act,
            )
            decoded[stage] = x
        if s["side_outputs"]:
            sides = []
            for stage in range(stages):
                side = layers.Conv2D(s.num_classes, 3, padding="same", name=f"side{stage}")(
                    decoded[stage]
                )
                if stage > 0:
                    side = blocks.upsample(
                        side, name=f"side{stage}", method="bilinear", factor=2**stage
                    )
                sides.append(side)
            x = blocks.concat(sides, name="sides")
        return classifier(x, s)
