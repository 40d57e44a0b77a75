"""What every architecture shares: its settings table, their checks, the size rule, the class
head, the constructor and config I/O.

An architecture is a `SegmentationModel` subclass that declares `defaults` (every setting it
takes besides num_classes and input_shape, with its default: its settings table), and
overrides two steps of the one constructor written here:

- `check(s)`: check its own settings before anything is built; return them, with the
  input-size rule they imply (`s.with_size(multiple, reason)`);
- `graph(x, s)`: the functional graph from the input tensor to class probabilities.

Its config is exactly its settings, so `from_config(get_config())` rebuilds it and `.keras`
files load without `custom_objects`.

Example:
    >>> import flexseg
    >>> model = flexseg.build("unet", num_classes=3, input_shape=(32, 32, 1), base_filters=4,
    ...                       num_layers=3)
    >>> model.get_config()["base_filters"], model.size_multiple
    (4, 4)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import keras
from keras import layers

from flexseg.errors import SettingsError
from flexseg.models.parts import checks
from flexseg.models.parts.class_factors import (
    HEAD,
    checked_factors,
    log_factors,
    shift_head_bias,
    with_factors,
)
from flexseg.suggest import known_settings

# Every architecture's optional setting: per-class factors its probabilities are multiplied
# by at inference (set by `flexseg train` from train.class_weight_correction), and whether
# they are folded into the class head's bias (inference models; see class_factors).
INFERENCE_FACTORS = "inference_class_factors"
FOLDED_FACTORS = "fold_inference_factors"

_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def settings_table(
    *tables: Mapping[str, Any], without: Sequence[str] = (), **entries: Any
) -> Mapping[str, Any]:
    """A read-only table of settings and defaults: `tables` merged, `without` left out,
    `entries` added or changed.

    Example:
        >>> dict(settings_table({"a": 1, "b": 2}, without=["b"], c=3))
        {'a': 1, 'c': 3}
    """
    merged = {k: v for table in tables for k, v in table.items() if k not in without}
    return MappingProxyType({**merged, **entries})


# The settings of a U-shaped CNN with its usual defaults (each architecture states its own).
POOLED_DEFAULTS = settings_table(
    base_filters=32,
    num_layers=5,
    normalization=True,
    activation="relu",
    dropout_rate=0.0,
    input_normalize=True,
)


@dataclass(frozen=True)
class SizeRule:
    """What input height and width must divide by, and why (for the error message)."""

    multiple: int = 1
    reason: str = ""

    def check(self, height: int | None, width: int | None, *, model: str) -> None:
        """Raise naming the nearest valid sizes if a known size does not divide."""
        if self.multiple > 1:
            checks.divisible_size(height, width, self.multiple, model=model, reason=self.reason)


@dataclass(frozen=True)
class CommonSettings:
    """An architecture's settings as given (its config), and the shared ones checked.

    `s["key"]` reads any given setting; the shared ones are attributes.
    """

    model: str
    given: dict[str, Any]
    num_classes: int
    input_shape: tuple[int | None, ...]
    base_filters: int
    activation: str
    normalization: bool
    dropout_rate: float
    data_format: str = "channels_last"
    size: SizeRule = field(default_factory=SizeRule)
    num_layers: int = 0  # levels of a U-shaped CNN (0: not one)

    def __getitem__(self, key: str) -> Any:
        return self.given[key]

    @property
    def channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    @property
    def spatial_shape(self) -> tuple[int | None, int | None]:
        """(height, width) of the input, None where unknown."""
        shape = self.input_shape
        return (shape[0], shape[1]) if self.data_format == "channels_last" else (shape[1], shape[2])

    @property
    def filters(self) -> list[int]:
        """base_filters doubled per level: [16, 32, 64, ...] (U-shaped CNNs)."""
        return [self.base_filters * 2**level for level in range(self.num_layers)]

    @property
    def norm_act(self) -> dict[str, Any]:
        """Normalization and activation: the keyword arguments every block takes."""
        return {"normalization": self.normalization, "activation": self.activation}

    @property
    def style(self) -> dict[str, Any]:
        """norm_act plus the dropout rate: the keyword arguments of conv blocks."""
        return {**self.norm_act, "dropout_rate": self.dropout_rate}

    def with_size(self, multiple: int, reason: str) -> CommonSettings:
        """These settings with a size rule, after checking the input size against it."""
        rule = SizeRule(multiple, reason)
        rule.check(*self.spatial_shape, model=self.model)
        return dataclasses.replace(self, size=rule)

    def with_levels(self, minimum: int = 2) -> CommonSettings:
        """These settings as a U-shaped CNN's: num_layers checked, and its size rule
        (height and width divide by 2 for each of the num_layers - 1 poolings)."""
        levels = self.positive_int("num_layers", minimum=minimum)
        pooled = dataclasses.replace(self, num_layers=levels)
        return pooled.with_size(
            2 ** (levels - 1), f"num_layers={levels} pools {levels - 1} times by 2"
        )

    def with_given(self, **normalized: Any) -> CommonSettings:
        """These settings with some given values replaced by their checked form (the config)."""
        return dataclasses.replace(self, given={**self.given, **normalized})

    def choice(self, key: str, options: Sequence[Any]) -> Any:
        """The given value of `key` if it is one of `options`, else an error listing them."""
        value = self.given[key]
        if value not in options:
            listed = ", ".join(repr(o) for o in options)
            raise SettingsError(
                f"{self.model}: {key} must be one of {listed}. Received: {key}={value!r}"
            )
        return value

    def positive_int(self, key: str, minimum: int = 1) -> int:
        """The given value of `key` if it is an integer >= minimum, else an error."""
        return checks.positive_int(key, self.given[key], model=self.model, minimum=minimum)

    def positive_ints(self, key: str, count: int | None = None, meaning: str = "") -> list[int]:
        """The given value of `key` if it is a list of positive integers (`count` of them);
        else an error that adds `meaning` (what they are, an example) to the expectation."""
        values = self.given[key]
        if (
            isinstance(values, str)
            or not isinstance(values, Sequence)
            or (count is not None and len(values) != count)
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
        ):
            how_many = "a list of" if count is None else _NUMBERS.get(count, str(count))
            raise SettingsError(
                f"{self.model}: {key} must be {how_many} positive integers{meaning}. "
                f"Received: {key}={values!r}"
            )
        return list(values)

    def positive_number(self, key: str) -> float:
        """The given value of `key` if it is a number > 0, else an error."""
        value = self.given[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SettingsError(
                f"{self.model}: {key} must be a positive number. Received: {key}={value!r}"
            )
        return value


def common_settings(
    model: str, given: Mapping[str, Any], *, require_size: bool = False
) -> CommonSettings:
    """Check the shared settings among `given` (num_classes, input_shape and the table).

    Settings an architecture does not take get their usual defaults (16 base filters, relu,
    batch norm, no dropout); `require_size` is for models that need H and W known.
    """
    given = dict(given)
    data_format = checks.data_format(given.get("data_format", "channels_last"), model=model)
    input_shape = given["input_shape"]
    if input_shape is None:
        input_shape = (None, None, 3) if data_format == "channels_last" else (3, None, None)
    given["input_shape"] = checks.image_shape(input_shape, model=model, data_format=data_format)
    if "data_format" in given:
        given["data_format"] = data_format
    normalization = given.get("normalization", True)
    if not isinstance(normalization, bool):
        raise SettingsError(
            f"{model}: normalization must be true or false (batch normalization after every "
            f"convolution). Received: normalization={normalization!r}"
        )
    settings = CommonSettings(
        model=model,
        given=given,
        num_classes=checks.positive_int("num_classes", given["num_classes"], model=model),
        input_shape=given["input_shape"],
        base_filters=checks.positive_int(
            "base_filters", given.get("base_filters", 16), model=model
        ),
        activation=checks.activation_name(
            "activation", given.get("activation", "relu"), model=model
        ),
        normalization=normalization,
        dropout_rate=checks.fraction("dropout_rate", given.get("dropout_rate", 0.0), model=model),
        data_format=data_format,
    )
    if require_size and None in settings.spatial_shape:
        raise SettingsError(
            f"{model}: needs a known input height and width (its position embeddings or "
            f"attention windows are sized from them). Received: input_shape={input_shape!r}; "
            "pass e.g. input_shape=(256, 256, 3)."
        )
    return settings


def classifier(x, settings: CommonSettings, name: str = HEAD):
    """1x1 convolution to class scores, then softmax (one class: sigmoid or the model's
    final_activation), in float32 under mixed precision too: rare classes need the digits."""
    x = layers.Conv2D(settings.num_classes, 1, data_format=settings.data_format, name=name)(x)
    if settings.num_classes > 1:
        return layers.Softmax(axis=settings.channel_axis, dtype="float32", name="probabilities")(x)
    activation = settings.given.get("final_activation") or "sigmoid"
    return layers.Activation(activation, dtype="float32", name="probabilities")(x)


class SegmentationModel(keras.Model):
    """A functional segmentation model built from its settings table.

    Args:
        num_classes: output classes, background included.
        input_shape: (height, width, channels); None: any size, 3 channels.
        name: the model's name (default: the architecture's).
        inference_class_factors: per-class factors the probabilities are multiplied by (and
            summed to 1 again) at inference only; `flexseg train` sets them from
            train.class_weight_correction. None: none.
        fold_inference_factors: carry the factors in the class head's bias rather than in a
            layer after the softmax (the same probabilities, at no cost), where the head
            allows: for inference only, as training would train the shifted bias.
        **settings: the architecture's settings (see its `defaults`); any other key is an
            error naming the closest ones.
    """

    architecture: ClassVar[str] = "model"  # set by register_model
    defaults: ClassVar[Mapping[str, Any]] = settings_table()  # every other setting, its default
    requires_size: ClassVar[bool] = False  # height and width must be known when built
    # Settings naming files whose contents end up in the variables (backbone weights): the
    # config records None for them, so a saved model reloads without the file.
    read_from_files: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        name: str | None = None,
        inference_class_factors: Sequence[float] | None = None,
        fold_inference_factors: bool = False,
        **settings: Any,
    ):
        trainable = settings.pop("trainable", True)  # part of every Keras config
        known_settings(self.architecture, settings, list(self.defaults))
        given = {"num_classes": num_classes, "input_shape": input_shape}
        given.update({**self.defaults, **settings})
        s = self.check(common_settings(self.architecture, given, require_size=self.requires_size))
        inputs = keras.Input(shape=s.input_shape, name="image")
        x = (
            layers.Rescaling(1.0 / 255, name="rescale")(inputs)
            if s.given.get("input_normalize")
            else inputs
        )
        outputs = self.graph(x, s)
        factors, folded_in = None, None
        if inference_class_factors is not None:
            factors = checked_factors(inference_class_factors, s.num_classes, s.model)
            outputs, folded_in = with_factors(
                outputs, factors, s.channel_axis, fold_inference_factors
            )
        super().__init__(
            inputs=inputs, outputs=outputs, name=name or self.architecture, trainable=trainable
        )
        self.settings = {
            key: None if key in self.read_from_files else _plain(value)
            for key, value in s.given.items()
        }
        if factors is not None:
            self.settings[INFERENCE_FACTORS] = factors
        if factors is not None and fold_inference_factors:
            self.settings[FOLDED_FACTORS] = True
        # The head whose bias carries log(factors) (None: none does); a fresh one carries them.
        self.factors_folded_in = folded_in
        if folded_in is not None:
            shift_head_bias(self, folded_in, log_factors(factors))
        self.num_classes = s.num_classes
        self.image_shape = tuple(s.input_shape)
        self.data_format = s.data_format
        self.size_rule = s.size

    def check(self, s: CommonSettings) -> CommonSettings:
        """Check the architecture's own settings; return them with their size rule."""
        return s

    def graph(self, x, s: CommonSettings):
        """The graph from the input tensor `x` (already divided by 255 when the architecture
        takes input_normalize and it is on) to class probabilities."""
        raise NotImplementedError(f"{type(self).__name__} must define graph(x, s)")

    @property
    def size_multiple(self) -> int:
        """What input height and width must divide by (1: any size)."""
        return self.size_rule.multiple

    def call(self, inputs, training=None, mask=None):
        # Sizes unknown when the model was built are checked once they are known.
        spatial = inputs.shape[1:3] if self.data_format == "channels_last" else inputs.shape[2:4]
        self.size_rule.check(*spatial, model=self.name)
        return super().call(inputs, training=training, mask=mask)

    def with_inference_factors(
        self,
        factors: Sequence[float] | None,
        dtype_policy: str | None = None,
        fold: bool = False,
    ) -> SegmentationModel:
        """This model with `factors` as its inference_class_factors (None: none) and its
        weights, built under `dtype_policy` (default: its own): itself when it has both
        already (the factors have no weights). `fold`: the factors go into the class head's
        bias (fold_inference_factors; for inference only).

        A `.keras` file does not keep the policy a model was built under (its config is its
        settings): a model trained in mixed_bfloat16 loads in float32.

        Example:
            >>> import flexseg
            >>> model = flexseg.build("unet", num_classes=2, input_shape=(32, 32, 1),
            ...                       base_filters=4, num_layers=3)
            >>> mixed = model.with_inference_factors(None, "mixed_bfloat16")
            >>> mixed.dtype_policy.name, mixed.with_inference_factors([1, 0.5]).dtype_policy.name
            ('mixed_bfloat16', 'mixed_bfloat16')
        """
        config = self.get_config()
        wanted = None if factors is None else [float(f) for f in factors]
        fold = fold and wanted is not None
        policy = dtype_policy or self.dtype_policy.name
        same = config.get(INFERENCE_FACTORS) == wanted and config.get(FOLDED_FACTORS, False) == fold
        if same and policy == self.dtype_policy.name:
            return self
        changed = {INFERENCE_FACTORS: wanted, FOLDED_FACTORS: fold}
        with dtype_policy_scope(policy):
            rebuilt = type(self).from_config({**config, **changed})
        rebuilt.set_weights(self.get_weights())
        old, new = self.factors_folded_in, rebuilt.factors_folded_in
        if old is not None:  # the trained bias, then the new factors'
            shift_head_bias(rebuilt, old, -log_factors(config[INFERENCE_FACTORS]))
        if new is not None:
            shift_head_bias(rebuilt, new, log_factors(wanted))
        return rebuilt

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **self.settings}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@contextmanager
def dtype_policy_scope(policy: str) -> Iterator[None]:
    """Keras's global dtype policy set to `policy` within the block, then restored: layers
    keep the policy they were built under.

    Example:
        >>> import keras
        >>> with dtype_policy_scope("mixed_bfloat16"):
        ...     inside = keras.layers.Dense(2).dtype_policy.name
        >>> inside, keras.config.dtype_policy().name
        ('mixed_bfloat16', 'float32')
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _plain(value: Any) -> Any:
    """Tuples become lists, so a config survives JSON unchanged."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def layers_within(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of `model`, those of nested models (keras.applications backbones) too."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from layers_within(layer)
