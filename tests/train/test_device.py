"""``device="auto"`` (the default of ``train``, ``nas train`` and ``--torch-device``)."""

import pytest
import torch

from nas.search import SearchConfig
from nas.train import resolve_device


@pytest.mark.parametrize(("available", "expected"), [(True, "cuda"), (False, "cpu")])
def test_auto_picks_cuda_when_available(monkeypatch, available, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"


def test_explicit_cuda_without_a_gpu_is_a_value_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="cuda"):
        resolve_device("cuda")


def test_unknown_device_names_the_choices():
    with pytest.raises(ValueError, match=r"device must be one of .*'tpu'"):
        resolve_device("tpu")


def test_search_defaults_to_auto_and_rejects_unknown_devices():
    assert SearchConfig().torch_device == "auto"
    with pytest.raises(ValueError, match="torch_device must be one of"):
        SearchConfig(torch_device="gpu")
