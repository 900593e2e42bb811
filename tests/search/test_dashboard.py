"""optuna-dashboard serves a study written by the search (real HTTP requests)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nas.search import SearchConfig, run
from tests.search import fakes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_dashboard_serves_study_with_figures(fake_backend, tmp_path):
    cfg = SearchConfig(n_trials=3, study_name="dash", studies_dir=tmp_path / "studies",
                       preset="smoke", progress=False, sampler="random",
                       references=("ai85unetlarge", "unetmysmall"), **fakes.FAKE)
    run(cfg)
    exe = Path(sys.executable).with_name("optuna-dashboard")
    port = _free_port()
    proc = subprocess.Popen([str(exe), cfg.storage_url, "--host", "127.0.0.1",
                             "--port", str(port), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                studies = _get(f"{base}/api/studies")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    err = proc.stderr.read().decode()[-2000:]
                    pytest.fail(f"dashboard did not start: {err}")
                time.sleep(0.5)
        (study,) = [s for s in studies["study_summaries"] if s["study_name"] == "dash"]
        detail = _get(f"{base}/api/studies/{study['study_id']}?after=0")
        # two workers (the default) may also leave a PRUNED surplus trial: count the complete
        complete = [t for t in detail["trials"] if t["state"] == "Complete"]
        assert len(complete) == 3
        refs = [t for t in complete if any(a["key"] == "reference" for a in t["user_attrs"])]
        assert len(refs) == 2
        assert all(t["constraints"] for t in complete)  # dashboard sees constraints
        graph_ids = {g["id"] for g in detail["plotly_graph_objects"]}
        assert {"maxnas-front", "maxnas-hypervolume"} <= graph_ids
    finally:
        proc.terminate()
        proc.wait(timeout=10)
