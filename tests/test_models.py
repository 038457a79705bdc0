"""The model registry builds every model for the data's channels, classes and resolution, split into named
layer groups; local weights load safely."""

import os

import pytest
import torch

from engine.config import MODEL_NAMES
from engine.errors import ConfigError
from engine.models import MODELS, build_model, layer_groups, load_weights

STAGES = ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
GROUPS = {"small_cnn": ["block1", "block2", "block3", "head"], **{name: STAGES for name in MODEL_NAMES if name != "small_cnn"}}


def check_groups(name, model, groups):
    assert list(groups) == GROUPS[name] and all(groups.values())
    ids = [id(p) for params in groups.values() for p in params]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    head = model.fc if name.startswith("resnet") else (model.head if name == "small_cnn" else model.classifier)
    assert {id(p) for p in groups["head"]} == {id(p) for p in head.parameters()}


@pytest.mark.parametrize("name", ["small_cnn", "resnet18", "mobilenet_v3_small"])
@pytest.mark.parametrize("channels, resolution", [(1, 16), (3, 32), (3, 128)])
def test_every_model_fits_the_data(name, channels, resolution):
    torch.manual_seed(0)
    model, groups = build_model(name, channels, 7, resolution)
    model.eval()
    with torch.no_grad():
        logits = model(torch.rand(2, channels, resolution, resolution))
    assert logits.shape == (2, 7)
    check_groups(name, model, groups)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("channels, resolution", [(1, 16), (3, 32), (3, 96)])
def test_every_registered_model_fits_the_data_shape_for_shape(name, channels, resolution):
    """Built and run on the meta device (shapes only, no memory, no compute): every model at every size."""
    with torch.device("meta"):
        model, groups = build_model(name, channels, 7, resolution)
        model.eval()
        assert model(torch.empty(2, channels, resolution, resolution)).shape == (2, 7)
    check_groups(name, model, groups)


def test_the_config_offers_every_registered_model():
    assert set(MODEL_NAMES) == set(MODELS)


def test_groups_must_cover_the_model_and_end_with_the_head():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="last layer group must be 'head'"):
        layer_groups(model, [("body", [model[0]]), ("top", [model[1]])])
    with pytest.raises(ValueError, match="parameters in no layer group: 0.weight"):
        layer_groups(model, [("head", [model[1]])])
    with pytest.raises(ValueError, match="shares parameters"):
        layer_groups(model, [("all_of_it", [model]), ("head", [model[1]])])


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
    with pytest.raises(ConfigError, match=r"cannot be used as weights: it holds Python objects \(posix.system\)"):
        load_weights(model, tmp_path / "evil.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(ConfigError, match="text.pt: cannot be used as weights: it is truncated or not a PyTorch file"):
        load_weights(model, tmp_path / "text.pt")  # torch itself said only "101"
    torch.save(model.state_dict(), tmp_path / "whole.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "whole.pt").read_bytes()[:5000])
    with pytest.raises(ConfigError, match="cut.pt: cannot be used as weights: it is truncated or not a PyTorch file"):
        load_weights(model, tmp_path / "cut.pt")
