"""Report builders on hand-made trials: front, hypervolume, checkpoints, the written files."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from nas.report import trials_frame, write_figure
from nas.search import (
    hypervolume_2d,
    hypervolume_frame,
    knee_points,
    pareto_frame,
    pareto_mask,
    write_reports,
)
from nas.studyio import checkpoint_path


def _trial(number, miou, nbytes, feasible=True, reference="", artifact=None):
    attrs = {"feasible": feasible, "param_bytes": nbytes, "arch": f"arch{number}",
             "reference": reference, "trained": feasible}
    if reference == "":
        attrs.pop("reference")
    if artifact:
        attrs["checkpoint_artifact_id"] = artifact
    t = create_trial(state=TrialState.COMPLETE, values=[miou, nbytes], user_attrs=attrs,
                     params={"x": number}, distributions={"x": IntDistribution(0, 100)},
                     system_attrs={"constraints": [0.0 if feasible else 1.0]})
    t.number = number
    return t


def test_pareto_mask_hand_checked():
    miou = np.array([0.5, 0.6, 0.4, 0.6])
    costs = np.array([[100.0], [200.0], [150.0], [300.0]])
    # (0.4, 150) is dominated by (0.5, 100); (0.6, 300) by (0.6, 200)
    assert pareto_mask(miou, costs).tolist() == [True, True, False, False]


def test_hypervolume_hand_checked():
    # ref (0, 1000): points (0.5, 200) and (0.8, 600):
    # 0.5 * (1000 - 200) + (0.8 - 0.5) * (1000 - 600) = 400 + 120 = 520
    assert hypervolume_2d([0.5, 0.8], [200, 600], 0.0, 1000) == pytest.approx(520.0)
    # a dominated point and one beyond the reference add nothing
    assert hypervolume_2d([0.5, 0.8, 0.4, 0.9], [200, 600, 700, 1200], 0.0, 1000) == \
        pytest.approx(520.0)


def test_hypervolume_frame_per_trial_and_reference():
    trials = [_trial(0, 0.5, 200_000), _trial(1, 0.0, 100, feasible=False),
              _trial(2, 0.8, 300_000)]
    hv = hypervolume_frame(trials_frame(trials), ref_miou=0.4, ref_bytes=400_000)
    # 0.1 * 200k after trial 0; the infeasible trial adds nothing; + 0.3 * 100k after trial 2
    assert hv["hypervolume"].tolist() == pytest.approx([20_000, 20_000, 50_000])


def test_knee_points_hand_checked():
    # bytes 10^1..10^5 -> log-normalised x = 0, .25, .5, .75, 1; the chord is y = x.
    # heights above it: 0, .65, .45, .15, 0 (y normalised by the 0.1..0.9 range)
    y = [0.0, 0.9, 0.95, 0.9, 1.0]  # normalised mIoU: heights 0, .65, .45, .15, 0
    front = pd.DataFrame({"number": [0, 1, 2, 3, 4],
                          "param_bytes": [10, 100, 1000, 10_000, 100_000],
                          "miou": [0.1 + 0.8 * v for v in y]})
    # one bin: the single best interior point (1), never an end
    assert knee_points(front, 1)["number"].tolist() == [1]
    # two bins [0, .5) and [.5, 1]: 1 in the first, 2 beats 3 in the second
    two = knee_points(front, 2)
    assert two["number"].tolist() == [1, 2]
    assert two["knee_score"].tolist() == pytest.approx([0.65, 0.45])
    # four bins: one knee per interior point; the ends' bins give nothing
    assert knee_points(front.sample(frac=1, random_state=0), 4)["number"].tolist() == [1, 2, 3]
    assert knee_points(front.iloc[:2], 3).empty  # no interior point
    with pytest.raises(ValueError, match="k must be >= 1"):
        knee_points(front, 0)


def test_front_excludes_infeasible_and_keeps_references():
    trials = [_trial(0, 0.5, 1000, reference="unetmysmall"), _trial(1, 0.7, 5000),
              _trial(2, 0.0, 100, feasible=False), _trial(3, 0.4, 2000)]
    df = trials_frame(trials)
    front = pareto_frame(df)
    assert front["number"].tolist() == [0, 1]  # sorted by bytes; #2 infeasible, #3 dominated
    assert front["reference"].tolist()[0] == "unetmysmall"


def test_missing_or_corrupt_artifact_is_reported_per_trial(tmp_path):
    store_dir = tmp_path / "artifacts"
    store_dir.mkdir()
    torch.save({"state_dict": {}, "pad": torch.zeros(64)}, store_dir / "good")
    (store_dir / "bad").write_bytes(b"not a checkpoint at all, truncated" * 3)
    study = optuna.create_study(directions=["maximize", "minimize"], study_name="r")
    for t in (_trial(0, 0.5, 1000, artifact="good"), _trial(1, 0.6, 2000, artifact="bad"),
              _trial(2, 0.7, 3000, artifact="gone")):
        study.add_trial(t)
    paths = write_reports(study, tmp_path / "out", artifact_dir=store_dir, dashboard=False)
    df = trials_frame(study.get_trials(), artifact_dir=store_dir)
    assert df["checkpoint"].tolist() == ["ok", "corrupt", "missing"]
    assert paths["report"].exists() and len(pareto_frame(df)) == 3  # report still whole
    # written atomically: only the three files, no temporary ones left beside them
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "pareto.csv", "report.html", "trials.csv"]
    assert checkpoint_path(study, 0, store_dir) == store_dir / "good"
    with pytest.raises(ValueError, match="trial 1: checkpoint artifact bad is corrupt"):
        checkpoint_path(study, 1, store_dir)
    with pytest.raises(ValueError, match="trial 2: checkpoint artifact gone is missing"):
        checkpoint_path(study, 2, store_dir)


def test_write_figure_falls_back_to_html_without_kaleido(tmp_path, monkeypatch):
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))

    def no_kaleido(*a, **k):
        raise ValueError("Image export requires the Kaleido package")

    monkeypatch.setattr(go.Figure, "write_image", no_kaleido)
    out = write_figure(fig, tmp_path / "sub" / "plot.png")
    assert out == tmp_path / "sub" / "plot.html"
    assert "plotly" in out.read_text() and not (tmp_path / "sub" / "plot.png").exists()


def _page_trials():
    trials = [_trial(0, 0.70, 280_000, feasible=False, reference="ai85unetlarge"),
              _trial(1, 0.60, 110_000, reference="unetmysmall"),
              _trial(2, 0.0, 2_000_000, feasible=False), _trial(3, 0.0, 600_000, feasible=False)]
    trials += [_trial(n, 0.3 + 0.05 * n, 1000 * 2**n) for n in range(4, 12)]
    return trials


def test_report_page_is_self_explanatory():
    import datetime

    from nas.report import trials_frame as frame
    from nas.search import build_report

    df = frame(_page_trials())
    when = datetime.datetime(2026, 12, 1, 1, 2, tzinfo=datetime.UTC)
    page, (fig, _), front = build_report(df, title="maxnas study p", source="sqlite:///p.db",
                                         settings={"sampler / seed": "tpe / 0"},
                                         generated_at=when)
    assert page.startswith("<!DOCTYPE html>")
    assert "Generated 2026-12-01 01:02 UTC from sqlite:///p.db" in page
    assert "tpe / 0" in page
    assert "12 complete trials (8 feasible, 2 infeasible and not trained, 2 references)" in page
    # the front figure: log bytes; the infeasible trials in their own strip (row 2), so the
    # mIoU axis is not stretched down to their 0
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis2.type == "log"
    strip = [t for t in fig.data if t.name.startswith("infeasible")]
    assert len(strip) == 1 and strip[0].yaxis == "y2" and len(strip[0].x) == 2
    assert fig.layout.yaxis.range[0] > 0.25
    labels = {a.text for a in fig.layout.annotations}
    assert {"ai85unetlarge (does not fit)", "unetmysmall"} <= labels
    assert any(t.startswith("knee: trial") for t in labels)
    # the table: formatted numbers, no artifact ids
    assert "param bytes (weights + biases)" in page
    assert ">16,000<" in page and ">0.500<" in page
    assert "checkpoint_artifact_id" not in page.split("<h2>")[-1]
    assert front["number"].tolist() == list(range(4, 12))  # unetmysmall is dominated by #6


def test_report_from_trials_csv_matches_the_study(tmp_path):
    from nas.report import read_trials_csv
    from nas.report import trials_frame as frame

    df = frame(_page_trials())
    df.to_csv(tmp_path / "trials.csv", index=False)
    back = read_trials_csv(tmp_path / "trials.csv")
    assert pareto_frame(back)["number"].tolist() == pareto_frame(df)["number"].tolist()
    assert back["reference"].tolist()[:2] == ["ai85unetlarge", "unetmysmall"]


def test_labels_do_not_overlap_when_points_crowd():
    from nas.report import place_labels
    from nas.report._labels import label_box, overlaps

    points = [(500 + 3 * i, 200 + 2 * i) for i in range(6)]  # six points within 15 px
    texts = [f"knee: trial {i}" for i in range(6)]
    offsets = place_labels(points, texts, 1100, 400)
    boxes = [label_box(x + dx, y + dy, t)
             for (x, y), (dx, dy), t in zip(points, offsets, texts, strict=True)]
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if overlaps(a, b)]


def test_labels_keep_off_obstacles():
    from nas.report import place_labels
    from nas.report._labels import label_box, overlaps

    legend = (0.0, 0.0, 200.0, 110.0)
    (dx, dy), = place_labels([(60.0, 60.0)], ["knee: trial 93"], 1100, 400, [legend])
    assert not overlaps(label_box(60 + dx, 60 + dy, "knee: trial 93"), legend)


# -- the sampler-comparison metrics: hypervolume in (mIoU, log10 bytes), bytes to reach --------
def test_log_hypervolume_hand_checked():
    from nas.search import bytes_to_reach, log_hypervolume

    # (0.7, 1 kB) adds 0.1 x (5 - 3) decades; (0.8, 10 kB) then adds 0.1 x (5 - 4)
    assert log_hypervolume([0.7, 0.8], [1_000, 10_000], 0.6, 100_000) == pytest.approx(0.3)
    # below the reference mIoU, at/above the reference bytes, dominated: nothing more
    more = log_hypervolume([0.7, 0.8, 0.55, 0.95, 0.65], [1_000, 10_000, 10, 100_000, 20_000],
                           0.6, 100_000)
    assert more == pytest.approx(0.3)
    assert bytes_to_reach([0.7, 0.8, 0.9], [1_000, 10_000, 500], 0.75) == 500
    assert bytes_to_reach([0.7], [1_000], 0.75) == float("inf")


def _quality_trials():
    return [_trial(0, 0.7, 1_000), _trial(1, 0.8, 10_000), _trial(2, 0.95, 500, feasible=False),
            _trial(3, 0.55, 800)]


def test_front_quality_of_a_study_counts_feasible_trials_only():
    import math

    from nas.report import trials_frame as frame
    from nas.search import front_quality, log_hypervolume_frame

    df = frame(_quality_trials())
    q = front_quality(df)  # MAX78000: 442,368 B of weight memory
    top = math.log10(442_368)
    assert q.ref_bytes == 442_368
    assert q.hypervolume[0.6] == pytest.approx(0.1 * (top - 3) + 0.1 * (top - 4))
    # at 0.5 trial 3 (0.55, 800 B) counts too
    assert q.hypervolume[0.5] == pytest.approx(0.05 * (top - math.log10(800))
                                               + 0.15 * (top - 3) + 0.1 * (top - 4))
    assert q.hypervolume[0.7] == pytest.approx(0.1 * (top - 4))
    assert q.bytes_to_reach == {0.6: 1_000, 0.7: 1_000, 0.75: 10_000}
    assert front_quality(frame(_quality_trials()[:1])).bytes_to_reach[0.75] == float("inf")
    # the reference bytes are the device's: MAX78002 holds more weights, so more area
    assert front_quality(df, "MAX78002").hypervolume[0.6] > q.hypervolume[0.6]
    # an early-stopped trial's mIoU is partial: out of the metrics, as out of the front
    stopped = df.assign(early_stopped=df["number"] == 1)
    assert front_quality(stopped).bytes_to_reach[0.75] == float("inf")
    assert log_hypervolume_frame(stopped)[0.7].max() == 0.0
    curve = log_hypervolume_frame(df)
    assert curve[0.6].tolist() == pytest.approx([0.1 * (top - 3), q.hypervolume[0.6],
                                                 q.hypervolume[0.6], q.hypervolume[0.6]])


def test_report_and_closing_screen_show_the_front_quality():
    from nas.report import summary_text
    from nas.report import trial_counts as report_counts
    from nas.report import trials_frame as frame
    from nas.search import build_report, front_quality

    df = frame(_quality_trials())
    page, (_, hv_fig), front = build_report(df, title="maxnas study q")
    assert "hypervolume, log10 bytes, ref. mIoU 0.6 (headline)" in page
    assert f">{front_quality(df).hypervolume[0.6]:.4f}<" in page
    assert "param bytes to reach val mIoU 0.75" in page and ">10,000<" in page
    assert [t.name for t in hv_fig.data] == ["ref. mIoU 0.5", "ref. mIoU 0.6 (headline)",
                                             "ref. mIoU 0.7"]
    assert "decades" in hv_fig.layout.yaxis.title.text
    lines = front_quality(df).lines()
    text = summary_text(front, {}, report_counts(df), quality=lines)
    assert all(line in text for line in lines) and len(lines) == 3
    assert "0.75: 10,000" in text and "ref. mIoU 0.6: " in text
    assert max(len(line) for line in text.splitlines()) <= 80, text
