"""The model registry builds every model for the data's channels, classes and resolution; local weights load safely."""

import os

import pytest
import torch

from engine.errors import ConfigError
from engine.models import MODELS, build_model, load_weights


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("channels, resolution", [(1, 16), (3, 32), (3, 128)])
def test_every_model_fits_the_data(name, channels, resolution):
    torch.manual_seed(0)
    model, groups = build_model(name, channels, 7, resolution)
    model.eval()
    with torch.no_grad():
        logits = model(torch.rand(2, channels, resolution, resolution))
    assert logits.shape == (2, 7)
    assert groups["backbone"] and groups["head"]
    ids = [id(p) for p in groups["backbone"] + groups["head"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


def test_an_unknown_model_is_named():
    with pytest.raises(ConfigError, match="unknown model 'vgg99'; choose one of"):
        build_model("vgg99", 3, 10, 32)


def test_local_weights_load_and_a_new_head_keeps_its_init(tmp_path):
    torch.manual_seed(1)
    source, _ = build_model("small_cnn", 1, 10, 16)
    torch.save(source.state_dict(), tmp_path / "pretrained.pt")
    torch.manual_seed(2)
    target, _ = build_model("small_cnn", 1, 5, 16)
    head_before = target.head[1].weight.clone()
    loaded, skipped = load_weights(target, tmp_path / "pretrained.pt")
    assert torch.equal(target.features[0].weight, source.features[0].weight)
    assert torch.equal(target.head[1].weight, head_before)
    assert skipped == ["head.1.bias", "head.1.weight"] and loaded == len(source.state_dict()) - 2


def test_weights_files_are_data_only(tmp_path):
    model, _ = build_model("small_cnn", 1, 10, 16)
    torch.save({"model": os.system}, tmp_path / "evil.pt")
    with pytest.raises(ConfigError, match="not a PyTorch weights file"):
        load_weights(model, tmp_path / "evil.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ConfigError, match="weights: .*text.pt"):
        load_weights(model, tmp_path / "text.pt")
