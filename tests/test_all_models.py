"""Every registered architecture passes the shared model checks through its `<name>_tiny` preset."""

import keras
import numpy as np
import pytest

import flexseg
from tests.model_checks import fixed_batch, predict, run_standard_checks

ARCHITECTURES = flexseg.list_models()


def test_there_is_something_to_check():
    assert "flexunet" in ARCHITECTURES


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_architecture_has_a_tiny_preset(architecture):
    preset = flexseg.get_preset(f"{architecture}_tiny")
    assert preset.architecture == architecture


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_standard_checks(architecture, tmp_path):
    run_standard_checks(f"{architecture}_tiny", tmp_path)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_folded_inference_factors_give_the_layers_probabilities(architecture, tmp_path):
    keras.utils.set_random_seed(0)
    model = flexseg.build(f"{architecture}_tiny")
    for layer in model.layers:  # the class heads' biases made non-zero, as once trained
        if layer.name.startswith("head") and getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.linspace(-1, 1, model.num_classes).astype("float32"))
    images, _ = fixed_batch(model)
    factors = np.geomspace(0.2, 5.0, model.num_classes).tolist()
    plain = predict(model, images)
    layered = predict(model.with_inference_factors(factors), images)
    assert np.abs(layered - plain).max() > 1e-2  # the factors matter here
    folded = model.with_inference_factors(factors, fold=True)
    np.testing.assert_allclose(predict(folded, images), layered, rtol=0, atol=1e-5)
    names = [layer.name for layer in folded.layers]
    if folded.factors_folded_in is None:  # a head that cannot carry them keeps the layer
        assert "inference_factors" in names
    else:  # the graph of the model without factors: its cost
        assert names == [layer.name for layer in model.layers]
    assert folded.count_params() == model.count_params()
    # Saved and loaded, refolded and unfolded, the head's bias is the trained one again.
    folded.save(tmp_path / "folded.keras")
    loaded = keras.models.load_model(tmp_path / "folded.keras")
    np.testing.assert_allclose(predict(loaded, images), layered, rtol=0, atol=1e-5)
    refolded = loaded.with_inference_factors(factors[::-1], fold=True)
    expected = predict(model.with_inference_factors(factors[::-1]), images)
    np.testing.assert_allclose(predict(refolded, images), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(predict(refolded.with_inference_factors(None), images), plain,
                               rtol=0, atol=1e-5)  # fmt: skip
