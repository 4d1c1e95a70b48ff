"""BoAmps reports, validated with jsonschema against the BoAmps schemas in ../shared/reference-data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from codecarbon.output_methods.boamps import (
    DEFAULT_TASK,
    Algorithm,
    BoAmpsOutput,
    Dataset,
    Publisher,
    Task,
    map_emissions_to_boamps,
)
from codecarbon.output_methods.boamps.models import Header
from tests.test_output_records import make_record

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference-data" / "boamps-schema"


@pytest.fixture(scope="module")
def validate():
    if not SCHEMA_DIR.is_dir():
        pytest.skip(f"BoAmps schemas not found in {SCHEMA_DIR}")
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    schemas = {path.name: json.loads(path.read_text()) for path in SCHEMA_DIR.glob("*_schema.json")}
    registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)) for schema in schemas.values())
    validator = Draft4Validator(schemas["report_schema.json"], registry=registry)

    def check(report: dict) -> None:
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]

    check.validator = validator  # type: ignore[attr-defined]
    return check


def test_validator_setup_accepts_the_example_and_rejects_a_broken_copy(validate) -> None:
    example = json.loads((SCHEMA_DIR / "example-report.json").read_text())
    validate(example)
    broken = json.loads(json.dumps(example))
    broken["task"]["dataset"][0]["dataType"] = "not-a-type"  # checked only through the $ref'd dataset schema
    assert list(validate.validator.iter_errors(broken))


def test_default_report_is_valid_and_says_the_task_is_undescribed(validate, tmp_path: Path) -> None:
    total = make_record()
    output = BoAmpsOutput(output_dir=str(tmp_path / "reports"))
    output.out(total, total)
    path = tmp_path / "reports" / f"boamps_report_{total.run_id}.json"
    report = json.loads(path.read_text())
    validate(report)
    assert report["task"]["taskStage"] == DEFAULT_TASK["taskStage"]
    assert "not described" in report["task"]["taskDescription"]
    header, [measure] = report["header"], report["measures"]
    assert header["reportId"] == total.run_id and header["reportDatetime"] == "2025-03-01 12:00:00"
    assert measure["powerConsumption"] == total.energy_consumed and measure["measurementDuration"] == 60.0
    assert measure["measurementDateTime"] == "2025-03-01 11:59:00"  # when the measurement began
    assert measure["cpuTrackingMode"] == "rapl" and measure["averageUtilizationCpu"] == 0.42
    types = [c["componentType"] for c in report["infrastructure"]["components"]]
    assert types == ["cpu", "gpu", "ram"] and report["infrastructure"]["infraType"] == "onPremise"
    assert report["environment"] == {"country": "France", "latitude": 48.86, "longitude": 2.35,
                                     "powerSourceCarbonIntensity": 56.0}


def test_users_enrich_the_report_with_typed_parts(validate, tmp_path: Path) -> None:
    task = Task(task_stage="inference", task_family="chatbot", nb_request=10,
                algorithms=[Algorithm(algorithm_type="llm", foundation_model_name="llama3.1-8b")],
                dataset=[Dataset(data_usage="input", data_type="token", data_quantity=11)])
    header = Header(publisher=Publisher(name="ACME", confidentiality_level="internal"), report_status="final")
    output = BoAmpsOutput(output_dir=str(tmp_path), task=task, header=header, quality="medium",
                          infra_overrides={"cloudInstance": "a2-highgpu-1g",
                                           "components": [{"componentType": "gpu", "nbComponent": 1,
                                                           "memorySize": 40}]},
                          environment_overrides={"powerSupplierType": "public"})
    total = make_record(cloud_provider="gcp", cloud_region="europe-west1", on_cloud="Y")
    report = output.report(total)
    validate(report)
    assert report["task"]["algorithms"][0]["foundationModelName"] == "llama3.1-8b"
    assert "taskDescription" not in report["task"]
    assert report["header"]["publisher"]["name"] == "ACME" and report["header"]["reportId"] == total.run_id
    assert report["quality"] == "medium" and report["infrastructure"]["infraType"] == "publicCloud"
    [gpu] = [c for c in report["infrastructure"]["components"] if c["componentType"] == "gpu"]
    assert gpu["memorySize"] == 40 and gpu["componentName"] == total.gpu_model
    assert report["infrastructure"]["cloudInstance"] == "a2-highgpu-1g"
    assert report["environment"]["powerSupplierType"] == "public"


def test_from_file_reads_a_camel_case_context(validate, tmp_path: Path) -> None:
    context = {"task": {"taskStage": "training", "taskFamily": "image classification",
                        "algorithms": [{"algorithmName": "cnn"}],
                        "dataset": [{"dataUsage": "input", "dataType": "image", "dataFormat": "jpeg"}]},
               "header": {"licensing": "CC-BY-4.0"},
               "infrastructure": {"cloudService": "vertex"},
               "environment": {"location": "Paris"},
               "quality": "high"}
    path = tmp_path / "boamps.json"
    path.write_text(json.dumps(context))
    output = BoAmpsOutput.from_file(path, output_dir=str(tmp_path))
    report = output.report(make_record())
    validate(report)
    assert report["task"]["taskFamily"] == "image classification"
    assert report["header"]["licensing"] == "CC-BY-4.0" and report["environment"]["location"] == "Paris"
    with pytest.raises(FileNotFoundError):
        BoAmpsOutput.from_file(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(json.JSONDecodeError):
        BoAmpsOutput.from_file(tmp_path / "bad.json")


def test_partial_task_gets_the_required_fields_filled(validate) -> None:
    report = map_emissions_to_boamps(make_record(), task={"taskStage": "inference"})
    validate(report.to_dict())
    assert report["task"]["taskStage"] == "inference" and report["task"]["dataset"]


def test_missing_facts_still_give_a_valid_report(validate) -> None:
    sparse = make_record(country_name=None, latitude=float("nan"), longitude=None, cpu_count=None,
                         cpu_model=None, gpu_count=0, gpu_model="", carbon_intensity=None, cpu_utilization_percent=0.0)
    report = map_emissions_to_boamps(sparse)
    validate(report.to_dict())
    assert "environment" not in report
    assert [c["componentType"] for c in report["infrastructure"]["components"]] == ["cpu", "ram"]


def test_bad_enrichment_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="quality"):
        BoAmpsOutput(output_dir=str(tmp_path), quality="excellent")
    with pytest.raises(ValueError, match="task"):
        BoAmpsOutput(output_dir=str(tmp_path), task={"taskStagee": "typo"})
    with pytest.raises(ValueError, match="metadata"):
        BoAmpsOutput.from_dict({"tasks": {}}, output_dir=str(tmp_path))


def test_report_is_rewritten_at_each_flush(tmp_path: Path) -> None:
    output = BoAmpsOutput(output_dir=str(tmp_path))
    first = make_record(duration=10.0)
    output.out(first, first)
    output.out(make_record(run_id=first.run_id, duration=20.0), first)
    [path] = tmp_path.glob("boamps_report_*.json")
    assert json.loads(path.read_text())["measures"][0]["measurementDuration"] == 20.0


@pytest.mark.skipif(not hasattr(os, "umask") or os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_reports_follow_the_users_umask_like_every_output_in_their_folders(tmp_path: Path, umask: int,
                                                                           expected: int) -> None:
    previous = os.umask(umask)
    try:
        output = BoAmpsOutput(output_dir=str(tmp_path / "reports"))
        first = make_record(duration=10.0)
        output.out(first, first)
        output.out(make_record(run_id=first.run_id, duration=20.0), first)  # replaced: still the umask's mode
    finally:
        os.umask(previous)
    [path] = (tmp_path / "reports").iterdir()  # no temporary file left beside it
    assert path.name.startswith("boamps_report_") and os.stat(path).st_mode & 0o777 == expected


# ------------------------------------------------------------------------------ 3.3.2's names and report object
def test_model_classes_are_where_3_3_2_imports_them_from() -> None:
    from codecarbon.output_methods import boamps
    from codecarbon.output_methods.boamps import models

    for name in ("BoAmpsReport", "BoAmpsHeader", "BoAmpsPublisher", "BoAmpsTask", "BoAmpsAlgorithm",
                 "BoAmpsDataset", "BoAmpsMeasure", "BoAmpsSystem", "BoAmpsSoftware", "BoAmpsHardware",
                 "BoAmpsInfrastructure", "BoAmpsEnvironment"):
        assert getattr(models, name) is getattr(boamps, name), name
        assert getattr(models, name).__name__ == name
    assert boamps.map_emissions_to_boamps is __import__(
        "codecarbon.output_methods.boamps.mapper", fromlist=["x"]).map_emissions_to_boamps
    assert models.Task is models.BoAmpsTask  # the short names stay


def test_map_emissions_to_boamps_returns_a_report_object(validate) -> None:
    from codecarbon.output_methods.boamps import BoAmpsMeasure, BoAmpsReport

    total = make_record()
    report = map_emissions_to_boamps(total, task={"taskStage": "training", "taskFamily": "llm"}, quality="high")
    assert isinstance(report, BoAmpsReport)
    assert report.header.report_id == total.run_id and report.quality == "high"
    assert isinstance(report.measures[0], BoAmpsMeasure)
    assert report.measures[0].power_consumption == total.energy_consumed
    validate(report.to_dict())
    assert json.loads(report.to_json()) == report.to_dict()
    assert report["task"]["taskStage"] == "training" and "environment" in report  # reads like the old dict
    assert BoAmpsReport.from_dict(report.to_dict()) == report


def test_the_3_3_2_example_style_typed_enrichment(validate, tmp_path: Path) -> None:
    """As 3.3.2's examples/boamps_output.py builds it: BoAmps* objects with snake_case fields."""
    from codecarbon.output_methods.boamps import (
        BoAmpsAlgorithm,
        BoAmpsDataset,
        BoAmpsEnvironment,
        BoAmpsHardware,
        BoAmpsHeader,
        BoAmpsInfrastructure,
        BoAmpsOutput,
        BoAmpsPublisher,
        BoAmpsTask,
    )

    output = BoAmpsOutput(
        output_dir=str(tmp_path),
        task=BoAmpsTask(task_stage="inference", task_family="chatbot", nb_request=1,
                        algorithms=[BoAmpsAlgorithm(algorithm_type="llm", foundation_model_name="llama")],
                        dataset=[BoAmpsDataset(data_usage="input", data_type="token", data_quantity=50)]),
        header=BoAmpsHeader(publisher=BoAmpsPublisher(name="lab", confidentiality_level="public")),
        infra_overrides=BoAmpsInfrastructure(components=[BoAmpsHardware(component_type="gpu", nb_component=1,
                                                                        memory_size=80)]),
        environment_overrides=BoAmpsEnvironment(power_supplier_type="public"),
        quality="high",
    )
    total = make_record()
    output.out(total, total)
    report = json.loads((tmp_path / f"boamps_report_{total.run_id}.json").read_text())
    validate(report)
    assert report["task"]["algorithms"][0]["foundationModelName"] == "llama"
    assert report["header"]["publisher"]["confidentialityLevel"] == "public"
    assert report["environment"]["powerSupplierType"] == "public"
