"""`codecarbon report` and the one reading of emissions CSVs it shares with the other views.

Rows come from the real tracker where the behaviour depends on what it writes (flushes, update mode, task
files); files of CodeCarbon 3.3.2 and of jobs are written with their documented columns."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from codecarbon.output_methods.emissions_data import CSV_COLUMNS, EXTRA_COLUMNS
from codecarbon.viz.reading import JOB_COLUMNS, read_runs
from codecarbon.viz.report import as_text, paper_sentence

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CSV = REPO / "examples" / "emissions.csv"


def report(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "codecarbon.cli.main", "report", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def tracker(**kwargs):
    from codecarbon import OfflineEmissionsTracker

    return OfflineEmissionsTracker(country_iso_code="FRA", measure_power_secs=0.1, log_level="error", **kwargs)


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def row_332(run_id: str, project: str, duration: float, energy: float, emissions: float, **extra) -> dict:
    """A row as CodeCarbon 3.3.2 writes it (only the 38 columns)."""
    row = dict.fromkeys(CSV_COLUMNS, "")
    row.update(timestamp="2025-05-01T10:00:00", project_name=project, run_id=run_id,
               experiment_id="5b0fa12a-3dd7-45bb-9766-cc326314d9f1", duration=duration, emissions=emissions,
               cpu_energy=energy * 0.6, gpu_energy=energy * 0.3, ram_energy=energy * 0.1, energy_consumed=energy,
               country_name="France", country_iso_code="FRA", pue=1.0)
    row.update(extra)
    return row


# ------------------------------------------------------------------------------------------- run identity
def test_a_flushed_run_counts_once_at_its_last_row(cwd: Path):
    t = tracker(project_name="flushing")
    t.start()
    sum(i * i for i in range(200_000))
    t.flush()
    sum(i * i for i in range(200_000))
    t.flush()
    t.stop()
    rows = rows_of(cwd / "emissions.csv")
    assert len(rows) == 3 and len({r["run_id"] for r in rows}) == 1
    (run,) = read_runs([cwd / "emissions.csv"]).runs
    assert run.rows_seen == 3
    assert run.emissions == pytest.approx(float(rows[-1]["emissions"]))
    assert run.energy_consumed == pytest.approx(float(rows[-1]["energy_consumed"]))
    assert run.energy_consumed < sum(float(r["energy_consumed"]) for r in rows)  # not the sum of cumulative rows
    out = json.loads(report("--format", "json", cwd=cwd).stdout)
    assert len(out["runs"]) == 1 and out["runs"][0]["emissions"] == pytest.approx(float(rows[-1]["emissions"]))


def test_update_mode_row_and_task_file_are_one_run_with_its_tasks(cwd: Path):
    t = tracker(project_name="tasks", experiment_name="sweep", on_csv_write="update")
    t.start()
    for name in ("load", "train"):
        t.start_task(name)
        sum(i * i for i in range(100_000))
        t.stop_task(name)
    t.flush()
    t.stop()
    task_files = list(cwd.glob("emissions_sweep_*.csv"))
    assert len(task_files) == 1 and len(rows_of(cwd / "emissions.csv")) == 1
    reading = read_runs([cwd])
    (run,) = reading.runs
    assert run.experiment_name == "sweep" and run.experiment == "sweep"
    assert sorted(task.task_name for task in run.tasks) == ["load", "train"]
    assert all(task.energy_consumed > 0 for task in run.tasks)
    text = report(str(cwd), cwd=cwd).stdout
    assert "experiment sweep" in text and "task load" in text and "task train" in text
    alone = read_runs(task_files)  # the task file without its run: kept aside, never made into a run
    assert alone.runs == [] and len(alone.orphan_tasks) == 2
    assert "2 task row(s) belong to runs not in these files" in report(str(task_files[0]), cwd=cwd).stdout


def test_reads_files_written_by_3_3_2(cwd: Path):
    path = cwd / "old.csv"
    write_rows(path, CSV_COLUMNS, [row_332("a", "p", 10, 0.002, 0.0001), row_332("a", "p", 20, 0.004, 0.0002),
                                   row_332("b", "q", 5, 0.001, 0.0004, country_iso_code="DEU")])
    reading = read_runs([path])
    assert [r.run_id for r in reading.runs] == ["a", "b"]
    first, second = reading.runs
    assert first.energy_consumed == pytest.approx(0.004) and first.duration == 20
    assert first.intensity_g_per_kwh == pytest.approx(50.0)  # no carbon_intensity column: emissions / energy
    assert second.intensity_g_per_kwh == pytest.approx(400.0)
    done = report(str(path), "--format", "json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [r["run_id"] for r in out["runs"]] == ["a", "b"] and out["jobs"] == []
    assert out["runs"][0]["carbon_intensity"] == pytest.approx(50.0)
    text = report(str(path), cwd=cwd).stdout
    assert "project p" in text and "project q" in text and "intensity source" in text


def test_a_malformed_line_is_skipped_with_a_warning(cwd: Path):
    path = cwd / "emissions.csv"
    write_rows(path, CSV_COLUMNS + EXTRA_COLUMNS, [row_332("a", "p", 10, 0.002, 0.0001, carbon_intensity=50)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("2025-05-01T10:00:00,p,broken,only-three-cells\n")  # a row cut short (crash mid-write)
        bad = row_332("c", "p", 1, 0.5, 0.1)
        bad["emissions"] = "lots"
        later = row_332("a", "p", 20, 0.004, 0.0002)  # run a's later row, unreadable: its earlier row stands
        later["energy_consumed"] = "n/a"
        for row in (bad, later):
            csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS + EXTRA_COLUMNS)).writerow(row)
        handle.write("\0\0\0\n")
    write_rows(cwd / "emissions_more.csv", CSV_COLUMNS, [row_332("b", "p", 3, 0.001, 0.0002)])
    reading = read_runs([cwd])
    assert sorted(r.run_id for r in reading.runs) == ["a", "b"]
    assert next(r for r in reading.runs if r.run_id == "a").duration == 10
    assert reading.skipped_lines == 3
    assert any("malformed" in p for p in reading.problems) and any("numbers" in p for p in reading.problems)
    done = report(str(cwd), cwd=cwd)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "3 malformed line(s) skipped" in done.stdout
    assert "skipped" in done.stderr  # the warning went through the codecarbon logger


def test_a_file_that_is_not_an_emissions_csv_is_an_error(cwd: Path):
    (cwd / "other.csv").write_text("a,b\n1,2\n")
    done = report("other.csv", cwd=cwd)
    assert done.returncode == 1 and "no emissions CSV" in done.stderr
    assert report("missing.csv", cwd=cwd).returncode == 1


# ----------------------------------------------------------------------------------------------- jobs
def job_row(run_id: str, node: str, rank: int, duration: float, cpu: float, gpu: float, ram: float,
            intensity: float, job_id: str = "4242") -> dict:
    energy = cpu + gpu + ram
    row = row_332(run_id, "train", duration, energy, energy * intensity / 1000, cpu_energy=cpu, gpu_energy=gpu,
                  ram_energy=ram, carbon_intensity=intensity, intensity_source="owid-energy 2023")
    row.update(scheduler="slurm", job_id=job_id, job_name="llm", job_user="me", job_account="", job_partition="gpu",
               node_name=node, rank=rank, local_rank=rank % 2, world_size=4, attribution="gpu:0;cpu;ram")
    return row


def test_job_totals_by_node_at_each_nodes_intensity(cwd: Path):
    """Contract #2: two nodes of one job (each with its own file and intensity), flush rows counted once."""
    columns = CSV_COLUMNS + EXTRA_COLUMNS + JOB_COLUMNS
    shared = cwd / "shared"
    shared.mkdir()
    write_rows(shared / "emissions_node1.csv", columns, [
        job_row("r0", "node1", 0, 50, 0.1, 0.5, 0.01, 100),   # a flush: superseded by the next row of r0
        job_row("r0", "node1", 0, 100, 0.2, 1.0, 0.02, 100),
        job_row("r1", "node1", 1, 90, 0.0, 0.8, 0.0, 100),
    ])
    write_rows(shared / "emissions_node2.csv", columns, [
        job_row("r2", "node2", 2, 110, 0.3, 1.2, 0.03, 400),
        job_row("r3", "node2", 3, 105, 0.0, 0.9, 0.0, 400),
        job_row("other", "node2", 0, 10, 0.1, 0.1, 0.1, 400, job_id="7"),
    ])
    write_rows(shared / "emissions_solo.csv", CSV_COLUMNS, [row_332("solo", "p", 1, 0.001, 0.0001)])
    done = report(str(shared), "--format", "json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert len(out["runs"]) == 6
    (job,) = [j for j in out["jobs"] if j["job_id"] == "4242"]
    assert {j["job_id"] for j in out["jobs"]} == {"4242", "7"}  # the run without a job_id is in no job
    assert job["scheduler"] == "slurm" and set(job["nodes"]) == {"node1", "node2"}
    node1, node2 = job["nodes"]["node1"], job["nodes"]["node2"]
    assert node1["gpu_energy"] == pytest.approx(1.8) and node1["cpu_energy"] == pytest.approx(0.2)
    assert node1["energy_consumed"] == pytest.approx(0.2 + 1.0 + 0.02 + 0.8)
    assert node1["emissions"] == pytest.approx(node1["energy_consumed"] * 0.1)
    assert node2["energy_consumed"] == pytest.approx(0.3 + 1.2 + 0.03 + 0.9)
    assert node2["emissions"] == pytest.approx(node2["energy_consumed"] * 0.4)
    for key in ("cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "emissions"):
        assert job["total"][key] == pytest.approx(node1[key] + node2[key])
    assert job["total"]["duration"] == pytest.approx(110) and node1["duration"] == pytest.approx(100)
    run = next(r for r in out["runs"] if r["run_id"] == "r2")
    assert run["node_name"] == "node2" and run["job_id"] == "4242" and run["experiment_name"] == ""
    text = report(str(shared), cwd=cwd).stdout
    assert "job 4242 (slurm): 4 run(s) on 2 node(s)" in text and "node2" in text


# -------------------------------------------------------------------------------------------- formats
def test_csv_markdown_and_the_sentence(cwd: Path):
    path = cwd / "e.csv"
    write_rows(path, CSV_COLUMNS + EXTRA_COLUMNS, [
        row_332("a", "p", 3600, 2.0, 0.112, carbon_intensity=56, intensity_source="owid-energy 2023"),
        row_332("b", "p", 1800, 1.0, 0.056, carbon_intensity=56, intensity_source="owid-energy 2023")])
    as_csv = list(csv.DictReader(report(str(path), "--format", "csv", cwd=cwd).stdout.splitlines()))
    assert [r["run_id"] for r in as_csv] == ["a", "b"] and float(as_csv[0]["energy_consumed"]) == 2.0
    markdown = report(str(path), "--format", "markdown", cwd=cwd).stdout
    assert markdown.startswith("| project |") and markdown.count("\n| p |") == 2
    sentence = report(str(path), "--sentence", cwd=cwd).stdout.strip()
    assert sentence == ("Project p used 3 kWh of electricity over 2 runs, about 0.168 kg CO2eq at 56 g/kWh "
                        "(Our World in Data energy dataset, 2023).")
    assert report(str(path), "--sentence", "--activity", "Training", cwd=cwd).stdout.startswith("Training used 3 kWh")
    reading = read_runs([path])
    assert paper_sentence(reading.runs[:1], activity="Inference") == (
        "Inference used 2 kWh of electricity, about 0.112 kg CO2eq at 56 g/kWh (Our World in Data energy dataset, "
        "2023).")


def test_terminal_table_is_aligned():
    reading = read_runs([EXAMPLE_CSV])
    lines = as_text(reading).splitlines()
    headers = [i for i, line in enumerate(lines) if line.strip().startswith("run ")]
    assert len(headers) >= 3
    for index in headers:
        header = lines[index]
        rows = []
        for line in lines[index + 1:]:
            if not line.startswith("    ") or line.startswith("      task") or line.startswith("    ..."):
                break
            rows.append(line)
        assert rows
        for column in ("duration", "energy", "CO2eq", "g/kWh"):
            edge = header.index(column) + len(column)  # numbers are right-aligned under their header
            for row in rows:
                assert row[edge - 1] != " " and row[edge] == " ", (column, header, row)
    assert lines[-1].startswith("Projects codecarbon, cloud, decorated and quickstart used")


def test_example_csv_was_written_by_the_tracker():
    """examples/emissions.csv comes from scripts/make_example_csv.py: our header, several projects."""
    rows = rows_of(EXAMPLE_CSV)
    with open(EXAMPLE_CSV) as handle:
        header = next(csv.reader(handle))
    assert header[:38] == list(CSV_COLUMNS) and "intensity_source" in header
    assert len({r["project_name"] for r in rows}) >= 3 and all(float(r["energy_consumed"]) > 0 for r in rows)


def test_energy_and_mass_are_shown_in_the_largest_fitting_unit() -> None:
    from codecarbon.viz.report import energy_text, mass_text

    assert [energy_text(v) for v in (0, 2e-7, 0.001, 0.0123, 1.0, 4.56, 1000.0, 7800.0)] == [
        "0 Wh", "200 µWh", "1 Wh", "12.3 Wh", "1 kWh", "4.56 kWh", "1 MWh", "7.8 MWh"]
    assert [mass_text(v) for v in (0, 3.2e-6, 0.0045, 1.2, 3400.0)] == ["0 g", "3.2 mg", "4.5 g", "1.2 kg", "3.4 t"]


def test_small_figures_are_scaled_never_in_e_notation() -> None:
    from codecarbon.viz import charts
    from codecarbon.viz.report import equivalent_text, mass_text
    from codecarbon.viz.text import distance_text, plain

    assert [mass_text(v) for v in (1.05e-8, 0.000999999, 0.9996)] == ["10.5 µg", "1 g", "1 kg"]  # rounds up a unit
    assert distance_text(3.26e-5) == "3.26 cm" and distance_text(0.012) == "12 m"
    assert plain(6.42e-7) == "0.000000642" and plain(999.6) == "1000" and plain(123456) == "123456"
    shown = [equivalent_text(item) for item in charts.equivalents(7.96e-6)]  # the example file's 7.96 mg
    assert shown[0].startswith("3.26 cm driven") and shown[1] == "0.000642 smartphone charges"
    for value in (1e-15, 2.5e-9, 7.7e-5, 0.5, 3e4):
        for text in (mass_text(value), equivalent_text(charts.equivalents(value)[0]), charts.fmt(value)):
            assert "e-" not in text and "e+" not in text, text


# ------------------------------------------------------------------------------------ untrusted files
def hostile(cwd: Path, **fields: object) -> Path:
    path = cwd / "hostile.csv"
    given = {"carbon_intensity": 50, "intensity_source": "owid-energy 2023", **fields}
    write_rows(path, CSV_COLUMNS + EXTRA_COLUMNS, [row_332("a", "p", 10, 0.002, 0.0001, **given)])
    return path


def test_terminal_escapes_from_a_file_are_shown_not_run(cwd: Path):
    evil = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\u202etxt.exe\rfake"
    path = hostile(cwd, project_name=evil, experiment_id=evil, intensity_source=evil)
    out = report(str(path), cwd=cwd).stdout
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\r" not in out
    assert "project \\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\u202etxt.exe\\x0dfake: 1 run(s)" in out
    sentence = report(str(path), "--sentence", cwd=cwd).stdout
    assert "\x1b" not in sentence and sentence.startswith("Project \\x1b]0;pwned")


def test_json_holds_only_finite_numbers(cwd: Path):
    path = cwd / "inf.csv"
    rows = [row_332("inf", "p", 10, 0.002, 0.0001), row_332("tiny", "p", 10, 5e-324, 0.001),
            row_332("ok", "p", 10, 0.002, 0.0001)]
    rows[0]["energy_consumed"] = "inf"  # what float() reads back from a file that says so
    rows[2]["emissions_rate"] = "1e999"
    write_rows(path, CSV_COLUMNS, rows)
    done = report(str(path), "--format", "json", cwd=cwd)

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON")

    out = json.loads(done.stdout, parse_constant=refuse)  # strict JSON: no Infinity, no NaN
    assert sorted(r["run_id"] for r in out["runs"]) == ["tiny"]  # the infinite figures are unreadable numbers
    assert out["skipped_lines"] == 2
    (tiny,) = out["runs"]
    assert tiny["carbon_intensity"] is None  # 0.001 kg / 5e-324 kWh overflows: no intensity, not Infinity


def test_negative_energy_is_counted_and_reported_never_zeroed(cwd: Path):
    path = cwd / "neg.csv"
    write_rows(path, CSV_COLUMNS, [row_332("good", "p", 10, 0.004, 0.0002), row_332("bad", "p", 10, -0.5, 0.0001),
                                   row_332("bad2", "p", 10, 0.002, -0.0001)])
    reading = read_runs([path])
    assert [r.run_id for r in reading.runs] == ["good"] and reading.negative_rows == 2
    assert any("negative" in problem for problem in reading.problems)
    text = report(str(path), cwd=cwd).stdout
    assert "2 row(s) with a negative energy, emissions, duration or water figure left out (invalid)" in text
    assert "Total: 4 Wh" in text  # the valid run alone, not 4 Wh - 500 Wh, nor a negative shown as 0 Wh
    out = json.loads(report(str(path), "--format", "json", cwd=cwd).stdout)
    assert out["negative_rows"] == 2 and [r["run_id"] for r in out["runs"]] == ["good"]
    assert "2 row(s) with a negative" in report(str(path), "--format", "markdown", cwd=cwd).stdout


def test_markdown_escapes_the_files_html(cwd: Path):
    path = hostile(cwd, project_name="<img src=x onerror=alert(1)>|<b>", intensity_source="<script>x</script>")
    markdown = report(str(path), "--format", "markdown", cwd=cwd).stdout
    assert "<img" not in markdown and "<script" not in markdown and "<b>" not in markdown
    assert "| &lt;img src=x onerror=alert(1)&gt;\\|&lt;b&gt; |" in markdown  # one cell, shown as text
    assert markdown.splitlines()[2].count(" | ") == 11  # the row still has its 12 cells


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_output_neutralises_spreadsheet_formulas(cwd: Path, start: str):
    formula = f"{start}HYPERLINK(\"http://evil.example\",\"click\")"
    path = hostile(cwd, project_name=formula, region=formula)
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    done = subprocess.run([sys.executable, "-m", "codecarbon.cli.main", "report", str(path), "--format", "csv"],
                          cwd=cwd, env=env, capture_output=True, timeout=120)  # bytes: a CR stays a CR
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode(), newline="")))
    assert rows[0]["project_name"] == "'" + formula and rows[0]["region"] == "'" + formula
    assert float(rows[0]["energy_consumed"]) == 0.002  # numbers stay numbers


def test_a_file_being_appended_is_read_up_to_its_size_at_open(cwd: Path):
    from codecarbon.viz.reading import Reading, _lines

    path = cwd / "live.csv"
    write_rows(path, CSV_COLUMNS, [row_332("a", "p", 10, 0.002, 0.0001), row_332("b", "p", 10, 0.002, 0.0001)])
    whole = path.read_text()
    with open(path, "a") as handle:  # a writer half-way through its next row
        handle.write(whole.splitlines()[1].replace(",a,", ",c,")[:40])
    reading = read_runs([path])
    assert [r.run_id for r in reading.runs] == ["a", "b"] and reading.skipped_lines == 0
    assert reading.partial_lines == 1  # not a malformed row: a row not written yet
    assert "still being written" in report(str(path), cwd=cwd).stdout
    lines = _lines(path, Reading())
    assert next(lines).startswith("timestamp,")
    with open(path, "a") as handle:  # the writer goes on while the report reads
        handle.write("rest of the row\n" + whole.splitlines()[1].replace(",a,", ",d,") + "\n")
    assert len(list(lines)) == 2  # the rows there at open, the unfinished one left out, nothing appended since


def test_a_long_job_name_the_tracker_wrote_is_read_back(cwd: Path):
    name = "sweep-" + "x" * 200_000  # longer than the csv module's default field limit (128 KiB)
    t = tracker(project_name="long", job_id="77", job_name=name)
    t.start()
    t.stop()
    assert name in (cwd / "emissions.csv").read_text()
    out = json.loads(report(str(cwd), "--format", "json", cwd=cwd).stdout)
    assert [r["job_name"] for r in out["runs"]] == [name] and out["jobs"][0]["job_name"] == name
    assert out["skipped_lines"] == 0


def test_memory_grows_with_runs_not_rows(tmp_path: Path):
    """A run flushed 20,000 times holds one row in memory, not 20,000 (the bench measures 1M rows' RSS)."""
    import tracemalloc

    def peak_for(rows: int, runs: int) -> int:
        path = tmp_path / f"e_{rows}.csv"
        columns = CSV_COLUMNS + EXTRA_COLUMNS
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns))
            writer.writeheader()
            for i in range(rows):
                writer.writerow(row_332(f"run-{i % runs}", "p", i, 0.001 * i, 0.0001 * i))
        tracemalloc.start()
        try:
            reading = read_runs([path])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(reading.runs) == runs and reading.runs[0].rows_seen == rows // runs
        return peak

    small, large = peak_for(200, 10), peak_for(20_000, 10)
    assert large < small + 256 * 1024, (small, large)  # holding 20,000 rows would take tens of MB


def test_energy_bars_name_the_project_and_the_run(cwd: Path):
    from codecarbon.viz import charts

    path = cwd / "many.csv"
    write_rows(path, CSV_COLUMNS, [row_332(f"run-{i:02d}", "alpha" if i % 2 else "beta", 10, 0.001 * (i + 1),
                                           0.0001, timestamp=f"2025-05-01T10:00:{i:02d}") for i in range(20)])
    runs = read_runs([path]).runs
    few = charts.energy_by_component(runs[:4])
    assert few["layout"]["xaxis"]["type"] == "multicategory"  # runs grouped under their project
    assert few["data"][0]["x"] == [["alpha", "alpha", "beta", "beta"], ["run-01", "run-03", "run-00", "run-02"]]
    many = charts.energy_by_component(runs)  # 20 bars: one upright label each, project and run
    assert many["data"][0]["x"][:2] == ["alpha · run-01", "alpha · run-03"]
    assert many["layout"]["xaxis"]["tickangle"] == -90
    assert "(Wh)" in many["layout"]["title"]["text"] and many["data"][3]["text"][0] == "2"  # 2 Wh, not 0.002 kWh


def test_html_without_plotly_says_what_to_install_and_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    """A plain install asking for ``--html``: the missing extra is the user's to install, not a bug of ours."""
    from codecarbon.cli.main import main

    monkeypatch.setitem(sys.modules, "plotly", None)  # as on a plain install: plotly cannot be found
    assert main(["report", str(EXAMPLE_CSV), "--html", str(tmp_path / "report.html")]) == 1
    said = capsys.readouterr().err.strip()
    assert said.startswith("codecarbon: error: ") and "unexpected" not in said
    assert "pip install 'codecarbon[carbonboard]'" in said
    assert not (tmp_path / "report.html").exists()


def test_no_emissions_file_says_what_to_pass(tmp_path: Path, capsys) -> None:
    from codecarbon.cli.main import main

    (tmp_path / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["report", str(tmp_path)]) == 1
    said = capsys.readouterr().err
    assert f"codecarbon: error: no emissions CSV found in {tmp_path}: pass the file or the folder the tracker " \
           "wrote to" in said
