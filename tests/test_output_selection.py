"""build_outputs: which outputs a tracker gets from its settings, and in which order."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import pytest

from codecarbon.core.config import load_settings
from codecarbon.output_methods.base_output import BaseOutput
from codecarbon.output_methods.selection import build_outputs


def names(outputs: list) -> list[str]:
    return [type(o).__name__ for o in outputs]


def settings(tmp_path: Path, **arguments):
    return load_settings(arguments, home=tmp_path / "home", cwd=tmp_path / "work", environ={})


class Mine(BaseOutput):
    pass


def test_default_is_csv_only_without_warnings(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert names(build_outputs(settings(tmp_path), [])) == ["FileOutput"]


def test_user_handlers_first_and_the_callers_list_is_untouched(tmp_path: Path) -> None:
    mine = [Mine()]
    outputs = build_outputs(settings(tmp_path), mine)
    assert outputs[0] is mine[0] and names(outputs) == ["Mine", "FileOutput"]
    assert len(mine) == 1


def test_every_method_in_the_documented_order(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("prometheus_client")
    pytest.importorskip("logfire")
    chosen = settings(tmp_path, output_methods=["boamps", "logfire", "prometheus", "api", "logger", "csv"],
                      logging_logger=logging.getLogger("mine"), emissions_endpoint="http://127.0.0.1:9/e",
                      api_key="k", output_dir=str(tmp_path), delivery_timeout_secs=0.5)
    outputs = build_outputs(chosen, [Mine()])
    assert names(outputs) == ["Mine", "FileOutput", "LoggerOutput", "HTTPOutput", "CodeCarbonAPIOutput",
                              "PrometheusOutput", "LogfireOutput", "BoAmpsOutput"]
    prometheus = outputs[5]
    assert prometheus.project_name == "codecarbon" and prometheus.delete_on_exit is False
    for output in outputs:
        output.exit()


def test_http_output_comes_from_the_endpoint_alone(tmp_path: Path) -> None:
    chosen = settings(tmp_path, emissions_endpoint="http://127.0.0.1:9/e", output_dir=str(tmp_path))
    outputs = build_outputs(chosen, [])
    assert names(outputs) == ["FileOutput", "HTTPOutput"]
    outputs[1].exit()


def test_flags_alone_are_mapped_with_a_deprecation_warning(tmp_path: Path) -> None:
    # the warning comes from config loading (it owns every deprecation); selection only maps the flags
    with pytest.warns(DeprecationWarning, match="save_to_logger") as caught:
        chosen = settings(tmp_path, save_to_logger=True, logging_logger=logging.getLogger("mine"),
                          save_to_file=False)
    assert any("save_to_file" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs = build_outputs(chosen, [])
    assert names(outputs) == ["LoggerOutput"]


def test_output_methods_win_over_flags_with_a_warning_naming_them(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning) as caught:
        chosen = settings(tmp_path, output_methods="csv", save_to_logger=True, save_to_api=True)
    messages = " ".join(str(w.message) for w in caught)
    assert "save_to_logger" in messages and "save_to_api" in messages and "ignored" in messages
    assert names(build_outputs(chosen, [])) == ["FileOutput"]


def test_logger_without_logging_logger_logs_on_the_packages_emissions_logger(tmp_path: Path) -> None:
    """A config file cannot pass a logger object: ``output_methods = csv,logger`` (the README's) must work."""
    from codecarbon.output import LoggerOutput

    [built] = build_outputs(settings(tmp_path, output_methods=["logger"]), [])
    assert isinstance(built, LoggerOutput) and built.logger is logging.getLogger("codecarbon.emissions")


def test_logging_logger_may_be_a_logger_output_or_a_plain_logger(tmp_path: Path) -> None:
    from codecarbon.output import LoggerOutput

    given = LoggerOutput(logging.getLogger("mine"), logging.DEBUG)
    [built] = build_outputs(settings(tmp_path, output_methods=["logger"], logging_logger=given), [])
    assert built is given
    [wrapped] = build_outputs(settings(tmp_path, output_methods=["logger"],
                                       logging_logger=logging.getLogger("plain")), [])
    assert isinstance(wrapped, LoggerOutput) and wrapped.logging_severity == logging.INFO


def test_boamps_metadata_feeds_the_report(tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"boamps": {"quality": "low", "task": {"taskStage": "training"}}}))
    [boamps] = build_outputs(settings(tmp_path, output_methods=["boamps"], metadata=str(meta),
                                      output_dir=str(tmp_path)), [])
    assert boamps.quality == "low" and boamps.task == {"taskStage": "training"}
    [whole] = build_outputs(settings(tmp_path, output_methods=["boamps"], metadata={"quality": "high"},
                                     output_dir=str(tmp_path)), [])
    assert whole.quality == "high"


def test_a_missing_integration_is_left_out_with_one_warning_naming_the_extra(tmp_path: Path, monkeypatch,
                                                                             codecarbon_log) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "logfire", None)  # as when the logfire extra is not installed
    chosen = settings(tmp_path, output_methods=["csv", "logfire", "prometheus"], output_dir=str(tmp_path),
                      prometheus_url="127.0.0.1:9")
    outputs = build_outputs(chosen, [])
    assert names(outputs) == ["FileOutput", "PrometheusOutput"]
    warned = [r.getMessage() for r in codecarbon_log.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "pip install 'codecarbon[logfire]'" in warned[0]


def test_an_output_class_built_without_its_library_raises_import_error(monkeypatch) -> None:
    import sys

    import codecarbon.output_methods.metrics.prometheus as prometheus
    from codecarbon.output_methods.metrics.logfire import LogfireOutput
    from codecarbon.support.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "logfire", None)
    with pytest.raises(ImportError, match=r"codecarbon\[logfire\]") as caught:
        LogfireOutput()
    assert isinstance(caught.value, MissingDependencyError)
    monkeypatch.setattr(prometheus, "push_to_gateway", None)  # as when prometheus_client is absent
    with pytest.raises(ImportError, match="prometheus_client"):
        prometheus.PrometheusOutput("127.0.0.1:9")


def test_without_prometheus_client_the_run_goes_on_with_a_warning(tmp_path: Path, monkeypatch,
                                                                  codecarbon_log) -> None:
    import codecarbon.output_methods.metrics.prometheus as prometheus

    monkeypatch.setattr(prometheus, "push_to_gateway", None)
    outputs = build_outputs(settings(tmp_path, output_methods=["prometheus", "csv"], output_dir=str(tmp_path)), [])
    assert names(outputs) == ["FileOutput"]
    assert "prometheus_client" in codecarbon_log.text


def test_importing_codecarbon_output_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    script = ("import sys, codecarbon.output\n"
              "heavy = [m for m in ('prometheus_client', 'logfire', 'google.cloud.logging', 'requests', 'pandas')"
              " if m in sys.modules]\n"
              "print(heavy)")
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
