"""What describes the architectures: the registry, presets, model cards, MAC counts and the
search spaces `flexseg tune` varies."""
