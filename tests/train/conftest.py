from pathlib import Path

import pytest

from nas.spec import ArchSpec, ConvSpec, DecoderLevel, EncoderLevel


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nas.data.synthetic import make_synthetic_camvid

    return make_synthetic_camvid(tmp_path_factory.mktemp("camvid"), layout="maxnas",
                                 n_per_split=4, size=(64, 96), seed=0)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def tiny_spec(num_classes: int = 4, fold_ratio: int = 1) -> ArchSpec:
    """Depth-2 U-Net with ~12k weights: an epoch on 4 synthetic frames takes milliseconds."""
    return ArchSpec(
        name="tiny",
        num_classes=num_classes,
        prep=(ConvSpec(16, 1),),
        encoder=(EncoderLevel((ConvSpec(16),)), EncoderLevel((ConvSpec(32),))),
        decoder=(DecoderLevel(16, (ConvSpec(16),)),),
        fold_ratio=fold_ratio,
    )


@pytest.fixture
def spec() -> ArchSpec:
    return tiny_spec()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep the synthetic frames out of the user's cache (``$MAXNAS_CACHE``)."""
    monkeypatch.setenv("MAXNAS_CACHE", str(tmp_path_factory.getbasetemp() / "maxnas-cache"))
