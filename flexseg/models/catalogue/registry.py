"""The model registry: architectures by name, presets from TOML, plugins from entry points.

Example:
    >>> import flexseg
    >>> "flexunet" in flexseg.list_models()
    True
    >>> model = flexseg.build("flexunet", num_classes=2, input_shape=(32, 32, 1), num_layers=2)
    >>> model.output_shape
    (None, 32, 32, 2)
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from flexseg.errors import FlexsegError, SettingsError
from flexseg.models.catalogue import presets
from flexseg.suggest import closest, did_you_mean, known_settings

if TYPE_CHECKING:
    import keras

PLUGIN_GROUP = "flexseg.models"

Builder = TypeVar("Builder", bound=Callable[..., Any])


@dataclass(frozen=True)
class ModelEntry:
    """One registered architecture: its builder, the paper it follows, and who provided it."""

    name: str
    builder: Callable[..., keras.Model]
    reference: str
    source: str
    search_space: Callable[..., dict[str, Any]] | None = None

    def setting_names(self) -> list[str]:
        """Names of the keyword settings the builder takes, num_classes and input_shape
        included: its named parameters and the keys of its settings table (`defaults`)."""
        return list(self._defaults())

    def resolve_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Return every setting the builder will see: the given ones plus its defaults."""
        return {**self._defaults(), **settings}

    def _defaults(self) -> dict[str, Any]:
        values = {p.name: p.default for p in _named_parameters(self.builder)}
        return {**values, **getattr(self.builder, "defaults", {})}


_MODELS: dict[str, ModelEntry] = {}
_builtins_loaded = False
_plugins_loaded = False


def register_model(
    name: str | None = None,
    *,
    reference: str = "",
    override: bool = False,
    search_space: Callable[..., dict[str, Any]] | None = None,
) -> Callable[[Builder], Builder]:
    """Register a model builder (a `keras.Model` subclass or a function returning one).

    The builder takes `num_classes`, `input_shape` and keyword settings. A
    `keras.Model` subclass is also registered for Keras serialization, so
    `keras.models.load_model` needs no `custom_objects`. `search_space(hp, input_shape)`
    returns settings drawn from a KerasTuner `HyperParameters` (used by `flexseg tune`).

    Example:
        >>> import keras, flexseg
        >>> @flexseg.register_model("one_by_one", reference="a 1x1 convolution")
        ... def one_by_one(num_classes, input_shape=(None, None, 3)):
        ...     inputs = keras.Input(input_shape)
        ...     return keras.Model(inputs, keras.layers.Conv2D(num_classes, 1)(inputs))
        >>> flexseg.build("one_by_one", num_classes=4).output_shape
        (None, None, None, 4)
    """

    def decorator(builder: Builder) -> Builder:
        _add(
            name or builder.__name__.lower(),
            builder,
            reference,
            override=override,
            search_space=search_space,
        )
        return builder

    return decorator


def _add(
    name: str,
    builder,
    reference: str,
    *,
    override: bool,
    source: str | None = None,
    search_space=None,
):
    import keras  # only what registers a model needs Keras

    package = builder.__module__.split(".")[0]
    if name in _MODELS and not override:
        raise FlexsegError(
            f"A model named {name!r} is already registered (by {_MODELS[name].source}). "
            "Pick another name, or pass override=True to replace it."
        )
    if inspect.isclass(builder) and issubclass(builder, keras.Model):
        keras.saving.register_keras_serializable(package=package)(builder)
        if hasattr(builder, "architecture") and "architecture" not in vars(builder):
            builder.architecture = name  # a SegmentationModel names itself in messages
    _MODELS[name] = ModelEntry(name, builder, reference, source or package, search_space)


def list_models(pattern: str = "*") -> list[str]:
    """Return the registered architecture names matching a shell-style pattern, sorted.

    Example:
        >>> import flexseg
        >>> flexseg.list_models("flex*")
        ['flexunet']
    """
    _load_models()
    return sorted(fnmatch.filter(_MODELS, pattern))


def load_model(path, **kwargs) -> keras.Model:
    """`keras.models.load_model(path, **kwargs)` for a flexseg `.keras` file, with flexseg's
    architectures registered first (`import flexseg` alone loads no Keras, so registers none).

    Example:
        >>> import flexseg, tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.keras"
        >>> flexseg.build("flexunet_tiny").save(path)
        >>> flexseg.load_model(path).output_shape
        (None, 32, 32, 3)
    """
    import keras

    _load_models()
    return keras.models.load_model(path, **kwargs)


def model_entry(name: str) -> ModelEntry:
    """Return the registry entry of an architecture, or raise naming the closest names."""
    _load_models()
    if name not in _MODELS:
        raise FlexsegError(_unknown_name_message(name))
    return _MODELS[name]


def entry_for_class(model_class: type) -> ModelEntry | None:
    """Return the entry whose builder is `model_class`, or None."""
    _load_models()
    return next((entry for entry in _MODELS.values() if entry.builder is model_class), None)


def architecture_of(name: str) -> tuple[ModelEntry, presets.Preset | None]:
    """The architecture behind a model or preset name, and the preset (None for an architecture)."""
    _load_models()
    preset = presets.find_preset(name)
    if preset is not None and name in _MODELS:
        raise FlexsegError(
            f"{name!r} is both a registered architecture and a preset ({preset.path}); "
            "rename the preset file."
        )
    if preset is not None:
        if preset.architecture not in _MODELS:
            raise FlexsegError(
                f"Preset {name!r} ({preset.path}) names architecture {preset.architecture!r}, "
                f"which is not registered.{did_you_mean(preset.architecture, _MODELS)}"
            )
        return _MODELS[preset.architecture], preset
    return model_entry(name), None


def resolve(name: str, settings: Mapping[str, Any]) -> tuple[ModelEntry, dict[str, Any]]:
    """Turn a model or preset name plus user settings into (architecture, checked settings).

    `None` values mean "use the default" and are dropped; user settings win over a preset's.
    """
    given = {key: value for key, value in settings.items() if value is not None}
    entry, preset = architecture_of(name)
    if preset is not None:
        given = {**preset.settings, **given}
    check_settings(entry, given, context=f"preset {name!r}" if preset else None)
    return entry, given


def check_settings(
    entry: ModelEntry, settings: Mapping[str, Any], context: str | None = None
) -> None:
    """Raise if `settings` holds a key the architecture does not take, or misses a required one."""
    known_settings(entry.name, settings, entry.setting_names(), context)
    where = f" (from {context})" if context else ""
    required = [
        p.name for p in _named_parameters(entry.builder) if p.default is inspect.Parameter.empty
    ]
    missing = [key for key in required if key not in settings]
    if missing:
        hint = " (the number of classes, background included)" if "num_classes" in missing else ""
        raise SettingsError(
            f"{entry.name} needs {', '.join(f'{key}=...' for key in missing)}{hint}{where}."
        )


def build(
    name: str,
    *,
    num_classes: int | None = None,
    input_shape: Sequence[int | None] | None = None,
    **kwargs: Any,
) -> keras.Model:
    """Build a registered architecture or preset.

    Args:
        name: an architecture from `list_models()` or a preset from `list_presets()`.
        num_classes: number of output classes, background included (presets set it).
        input_shape: e.g. `(512, 512, 3)`; defaults to the preset's shape, else
            `(None, None, 3)` (any size the architecture accepts).
        **kwargs: architecture settings; they override a preset's. `None` means default.

    Example:
        >>> import flexseg
        >>> model = flexseg.build("flexunet_mvtec_screw", input_shape=(128, 128, 3), num_layers=3)
        >>> model.output_shape
        (None, 128, 128, 6)
    """
    settings = dict(kwargs, num_classes=num_classes)
    if input_shape is not None:
        settings["input_shape"] = tuple(input_shape)
    entry, settings = resolve(name, settings)
    return entry.builder(**settings)


def _named_parameters(builder: Callable[..., Any]) -> list[inspect.Parameter]:
    signature = inspect.signature(builder)
    return [
        p
        for p in signature.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]


def _unknown_name_message(name: str) -> str:
    known = list(_MODELS) + presets.list_presets()
    suggestions = closest(name, known, limit=5)
    hint = f"Closest: {', '.join(suggestions)}. " if suggestions else ""
    return (
        f"No model or preset named {name!r}. {hint}"
        "See flexseg.list_models() and flexseg.list_presets()."
    )


def _load_models() -> None:
    """Register flexseg's own architectures, then those of plugins (once per process)."""
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        from flexseg.models import ARCHITECTURES

        for module in ARCHITECTURES.values():
            importlib.import_module(module)
        from flexseg.models.catalogue.search_spaces import SEARCH_SPACES

        for name, space in SEARCH_SPACES.items():
            _MODELS[name] = dataclasses.replace(_MODELS[name], search_space=space)
    _load_entry_points()


def _load_entry_points() -> None:
    """Register the architectures that installed distributions declare under `flexseg.models`.

    An entry point may name a builder (registered under the entry point's name) or a
    module whose import registers its models with `register_model`.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry_point in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        provider = entry_point.dist.name if entry_point.dist else entry_point.value
        try:
            loaded = entry_point.load()
        except Exception as error:  # a broken plugin must not break flexseg itself
            warnings.warn(
                f"flexseg: skipped model plugin {entry_point.name!r} from {provider}: "
                f"importing {entry_point.value} failed with {error!r}",
                stacklevel=2,
            )
            continue
        if inspect.ismodule(loaded):
            continue
        if entry_point.name in _MODELS:
            warnings.warn(
                f"flexseg: skipped model plugin {entry_point.name!r} from {provider}: "
                f"the name is already registered by {_MODELS[entry_point.name].source}",
                stacklevel=2,
            )
            continue
        reference = getattr(loaded, "reference", "") or ""
        _add(entry_point.name, loaded, reference, override=False, source=provider)
