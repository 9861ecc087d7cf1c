"""report.html is one self-contained file: every image embedded, nothing linked in other folders."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from report_fixture import write_cell

from mtneuro.report.figures import THUMB_PX_PER_INCH
from mtneuro.report.html import build_report
from mtneuro.report.leaderboard import load_records
from mtneuro.report.plots_region import plot_task1


def test_every_image_is_embedded_at_thumbnail_size(suite_report, tmp_path):
    alone = tmp_path / "elsewhere" / "report.html"
    alone.parent.mkdir()
    shutil.copy(suite_report, alone)  # the file alone, without cells/ or report_figures/
    page = alone.read_text()
    records = load_records(suite_report.parent)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" width=(\d+)', page)
    assert len(images) == 4 + sum(len(r["figures"]) for r in records)  # 4 summary charts
    for data, width in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as png:
            assert int(width) == round(png.size[0] * THUMB_PX_PER_INCH / png.info["dpi"][0])
    # nothing else is fetched: links only jump inside the page or cite the published sources
    assert not re.findall(r'\ssrc="(?!data:)', page)
    assert all(h.startswith(("#", "https://")) for h in re.findall(r'href="([^"]*)"', page))
    # every figure opens full size (its own :target overlay) and closes again
    ids = re.findall(r'<figure class=fig id="(fig\d+)"', page)
    assert len(ids) == len(images)
    assert all(f'href="#{i}"' in page and f'href="#{i}-closed"' in page for i in ids)
    assert "figure.fig:target{position:fixed" in page


def test_a_missing_figure_file_is_named_not_shown_broken(tmp_path):
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [d / "gone.png"])
    page = build_report(tmp_path)["html"].read_text()
    assert "figure file missing: " in page and "cells/task1-roi-c1-pca-s0/gone.png" in page


def test_damaged_cell_records_are_listed_not_dropped_or_fatal(tmp_path, capsys):
    import json

    import pytest

    from mtneuro.cli.main import main
    from mtneuro.errors import DataError

    good = write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    record = json.loads(good.read_text())
    damaged = {"torn": '{"schema_version": 2, "cell": {', "list": "[1, 2]",
               "cellstr": json.dumps({**record, "cell": "x"}),
               "metrics5": json.dumps({**record, "metrics": 5})}
    for name, text in damaged.items():
        (tmp_path / "cells" / name).mkdir()
        (tmp_path / "cells" / name / "metrics.json").write_text(text)
    unreadable = []
    paths = build_report(tmp_path, unreadable=unreadable)
    assert sorted(w for w, _ in unreadable) == sorted(f"cells/{n}/metrics.json" for n in damaged)
    markdown = paths["markdown"].read_text()
    assert "cells/torn/metrics.json" in markdown and "not readable JSON" in markdown
    assert "expected a JSON object, got list" in paths["html"].read_text()
    assert len(load_records(tmp_path)) == 1  # the good cell still makes its row
    with pytest.raises(SystemExit) as stop:
        main(["report", str(tmp_path)])
    assert stop.value.code == 1  # written, but a script must see that something is missing
    err = capsys.readouterr().err
    assert "left out cells/metrics5/metrics.json: a complete cell whose 'metrics'" in err
    good.unlink()
    with pytest.raises(DataError, match="no readable cell records") as caught:
        build_report(tmp_path)
    head, *listed = str(caught.value).splitlines()
    assert "4 unreadable; run `mtneuro bench" in head
    assert [line.split(": ")[0].strip() for line in listed] == sorted(
        f"cells/{n}/metrics.json" for n in damaged)  # every file, not only the first


def test_task_command_records_in_cells_are_each_named_with_how_to_get_a_report(tmp_path, capsys):
    import json

    from mtneuro.cli.main import main

    bench_keys = ("bench_schema_version", "status", "cell", "inputs", "error", "host")
    cell = json.loads(write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5},
                                 lambda d: []).read_text())
    shutil.rmtree(tmp_path / "cells")
    for name in ("n1", "n2"):  # folders of `mtneuro task1 --out X` copied into cells/
        (tmp_path / "cells" / name).mkdir(parents=True)
        standalone = {k: v for k, v in cell.items() if k not in bench_keys}
        (tmp_path / "cells" / name / "metrics.json").write_text(json.dumps(standalone))
    (tmp_path / "cells" / "torn").mkdir()
    (tmp_path / "cells" / "torn" / "metrics.json").write_text("{")
    with pytest.raises(SystemExit) as stop:
        main(["report", str(tmp_path)])
    assert stop.value.code != 0
    head, *listed = capsys.readouterr().err.strip().splitlines()
    assert "no readable cell records" in head and "3 unreadable" in head
    assert "are not bench cells" in head and "`mtneuro bench --suite SUITE --out NEW_DIR`" in head
    assert listed[:2] == [f"  cells/{n}/metrics.json: a standalone `mtneuro task1` run's record, "
                          "not a bench cell" for n in ("n1", "n2")]
    assert listed[2].startswith("  cells/torn/metrics.json: not readable JSON")
    assert not (tmp_path / "report.html").exists()

    # the folder of a task command's run itself is reported as that run
    run = tmp_path / "t1"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(standalone))
    main(["report", str(run)])
    assert capsys.readouterr().out == f"wrote {run}/report.html and {run}/leaderboard.md\n"


def test_a_cell_figure_says_which_of_its_rows_seeds_it_draws(tmp_path, monkeypatch):
    from report_fixture import task1_result

    from mtneuro.report import figures, plots_region

    titles: dict[str, str] = {}
    save = figures.save_figure

    def keep_title(fig, path, dpi=figures.SAVE_DPI):
        titles[f"{Path(path).parent.name}/{Path(path).name}"] = " ".join(
            fig.axes[0].get_title().split())
        return save(fig, path, dpi)

    for module in (figures, plots_region):
        monkeypatch.setattr(module, "save_figure", keep_title)
    for seed in (0, 1):  # one bench cell per seed, as `mtneuro bench --seeds 0 1` writes them
        write_cell(tmp_path, "task1", "roi-c1", "pca", seed, {"accuracy": 0.5},
                   lambda d, s=seed: plot_task1(task1_result("pca", 0.5, 1, s), d))
    write_cell(tmp_path, "task1", "roi-c1", "nmf", 0, {"accuracy": 0.6},
               lambda d: plot_task1(task1_result("nmf", 0.6, 1), d))
    page = build_report(tmp_path)["html"].read_text()
    assert re.search(r"<td class=l>pca</td><td class=l>phantom \(synthetic volume\)</td><td>2</td>",
                     page)
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", page)
    for seed in (0, 1):
        cell = f"task1-roi-c1-pca-s{seed}"
        for name in ("confusion.png", "per_class_accuracy.png"):
            assert (f"{cell}: {name}, seed {seed} only: one of the n=2 seeds of row pca on "
                    "phantom (synthetic volume)") in captions
        title = titles[f"{cell}/confusion.png"]  # drawn when the cell ran: its own seed only
        assert f"seed {seed}: accuracy 0.500" in title and "summed" not in title
    assert "task1-roi-c1-nmf-s0: confusion.png, seed 0" in captions  # a one-seed row


def test_rows_say_n_and_identical_seeds_are_not_a_spread(tmp_path):
    for seed in range(3):
        write_cell(tmp_path, "task1", "roi-c1", "nmf", seed, {"accuracy": 0.6}, lambda d: [])
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [])
    paths = build_report(tmp_path)
    page, markdown = paths["html"].read_text(), paths["markdown"].read_text()
    for text in (page, markdown):
        assert "0.600 (same for all 3 seeds)" in text and "± 0.000" not in text
    assert re.search(
        r"<td class=l>pca</td><td class=l>phantom \(synthetic volume\)</td><td>1</td>", page
    )
    assert "Numbers on the synthetic phantom check the pipeline" in page
    # published rows are styled apart from ours (and runs made here apart from both)
    assert page.count("<tr class=pub") == 7 and page.count("<tr class=ours") == 2
    assert "tr.run td{" in page


def test_the_banner_speaks_of_the_phantom_only_when_a_row_comes_from_it(tmp_path):
    recording = {"source": "chewie-1", "label": "real recording chewie-1"}
    write_cell(tmp_path, "neural", "chewie-1", "raw", 0, {"accuracy": 0.6}, lambda d: [], source=recording)
    page = build_report(tmp_path)["html"].read_text()
    assert "Data sources of our rows:</b> real recording chewie-1." in page
    assert "phantom" not in page.split("<div class=banner>")[1].split("</div>")[0]


def test_a_line_break_or_bar_in_a_label_stays_inside_its_markdown_cell(tmp_path):
    source = {"source": "phantom", "params": {"seed": 0}, "label": "two\nlines | one bar"}
    write_cell(tmp_path, "task1", "roi-c1", "pca", 0, {"accuracy": 0.5}, lambda d: [],
               source=source)
    markdown = build_report(tmp_path, published=False)["markdown"].read_text()
    (row,) = [line for line in markdown.splitlines() if line.startswith("| pca |")]
    assert "two lines \\| one bar" in row and row.endswith(" |")
