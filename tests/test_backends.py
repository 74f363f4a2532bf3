"""INVESTBOT_BACKEND=onnx: a clear one-line ModelUnavailable when it cannot run, the same vectors when it can."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from index import embed
from index.embed import ModelUnavailable, load_embedder

TEXTS = [
    "How many industrial parks does Kaluga Region have?",
    "Cluster policy: exchanging experience, information and technology, joint projects.",
    "Импортозамещение в Рязанской области",
]


def hide_modules(monkeypatch, *hidden: str) -> None:
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name in hidden or any(name.startswith(h + ".") for h in hidden):
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_onnx_without_onnxruntime_is_unavailable_with_install_hint(monkeypatch, tmp_path: Path):
    hide_modules(monkeypatch, "onnxruntime")
    with pytest.raises(ModelUnavailable) as info:
        load_embedder(str(tmp_path), backend="onnx")  # the folder need not hold a model: checked first
    message = str(info.value)
    assert "onnxruntime" in message and "not installed" in message
    assert "pip install -c constraints.txt" in message and "[onnx]" in message
    assert "INVESTBOT_BACKEND=torch" in message
    assert "\n" not in message


def test_onnx_without_optimum_names_it(monkeypatch, tmp_path: Path):
    hide_modules(monkeypatch, "optimum")
    with pytest.raises(ModelUnavailable, match=r"optimum\.onnxruntime.*not installed"):
        load_embedder(str(tmp_path), backend="onnx")


def test_onnx_installed_but_broken_says_why(monkeypatch, tmp_path: Path):
    """E.g. optimum-onnx built for transformers 4.x next to transformers 5.x: the real import error is named."""
    monkeypatch.setattr(embed, "_importable", lambda module: True)
    real_import = embed.importlib.import_module

    def import_module(name, *args, **kwargs):
        if name.split(".")[0] in ("onnxruntime", "optimum"):
            try:
                raise ImportError("cannot import name 'is_offline_mode' from 'transformers.utils'")
            except ImportError as inner:
                raise ModuleNotFoundError("Could not import module 'ORTModelForFeatureExtraction'") from inner
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(embed.importlib, "import_module", import_module)
    with pytest.raises(ModelUnavailable, match=r"cannot be imported \(ImportError: cannot import name 'is_offline_mode'"):
        load_embedder(str(tmp_path), backend="onnx")


def test_engine_degrades_to_lexical_with_the_reason(monkeypatch, data_dir: Path, tmp_path: Path):
    from index.engine import Engine, EngineConfig

    hide_modules(monkeypatch, "onnxruntime")
    engine = Engine.open(EngineConfig(data_dir=data_dir, model=str(tmp_path), backend="onnx"))
    try:
        assert engine.mode == "lexical"
        assert "backend 'onnx' needs onnxruntime" in engine.model_status
    finally:
        engine.store.close()


def test_torch_backend_is_not_checked():
    assert embed.backend_problem("torch") is None


def test_onnx_vectors_match_torch(request, tmp_path: Path):
    """Runs only where the onnx extra is installed (and importable with this transformers)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("optimum.onnxruntime")
    problem = embed.backend_problem("onnx")
    if problem:
        pytest.skip(problem)
    import shutil

    tiny_model = request.getfixturevalue("tiny_model")  # built only when the test really runs
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)  # the first ONNX load may export into the folder: keep the fixture clean
    torch_vectors = load_embedder(str(folder), backend="torch").encode_passages(TEXTS)
    onnx_vectors = load_embedder(str(folder), backend="onnx").encode_passages(TEXTS)
    assert onnx_vectors.shape == torch_vectors.shape
    assert np.abs(onnx_vectors - torch_vectors).max() < 1e-4
