"""The documentation stays true to the code: columns, links, settings, quoted messages, extras.

Each check reads the code (field names, the parameter table, pyproject's extras, the messages the package logs)
and the Markdown pages, so a change on either side that leaves the other behind fails here.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
README = ROOT / "README.md"

#: Contract #1: the job columns follow ``intensity_source`` in this order (documented before they land).
JOB_COLUMNS = ("scheduler", "job_id", "job_name", "job_user", "job_account", "job_partition", "node_name", "rank",
               "local_rank", "world_size", "attribution")
#: CODECARBON_* variables that are not parameters: the state directory's location.
OTHER_VARIABLES = frozenset({"STATE_DIR"})

#: Words that stand for any key in examples (`codecarbon config --set key=value`).
_PLACEHOLDERS = frozenset({"key", "name"})

_FENCE = re.compile(r"^```[^\n]*\n.*?^```[ \t]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"(?<!!)\[(?:[^\]\n]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
_COLUMN_ROW = re.compile(r"^\| *(\d+) *\| *`([a-z0-9_]+)` *\|", re.M)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _prose(text: str) -> str:
    """The text outside code blocks and inline code: where Markdown links live."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for line in _FENCE.sub("", _text(path)).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = _slug(match.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _known_settings() -> set[str]:
    from codecarbon.core import config

    known = set(config.PARAMETERS) | set(config.ALIASES)
    for name in ("CLI_KEYS", "LEGACY_KEYS"):
        known |= set(getattr(config, name, ()))
    return known


# ------------------------------------------------------------------------------------------------- columns

def _documented_columns() -> list[tuple[int, str]]:
    return [(int(n), name) for n, name in _COLUMN_ROW.findall(_text(DOCS / "columns.md"))]


def test_every_csv_column_is_documented_in_order():
    from codecarbon.output_methods.emissions_data import EmissionsData

    code = [f.name for f in fields(EmissionsData)]
    rows = _documented_columns()
    documented = [name for _, name in rows]
    pending = [c for c in JOB_COLUMNS if c not in code]  # contract columns not in the code yet
    assert documented == code + pending, (
        "docs/columns.md must list every EmissionsData field once, in field order "
        f"(missing: {[c for c in code if c not in documented]}, "
        f"unknown: {[c for c in documented if c not in code and c not in JOB_COLUMNS]})")
    assert [n for n, _ in rows] == list(range(1, len(rows) + 1)), "column numbers must be the positions, 1.."


def test_the_first_38_columns_are_codecarbons_and_the_csv_writes_the_documented_ones():
    from codecarbon.output_methods.emissions_data import CSV_COLUMNS, EXTRA_COLUMNS

    documented = [name for _, name in _documented_columns()]
    assert len(CSV_COLUMNS) == 38
    assert documented[:38] == list(CSV_COLUMNS)
    assert documented[38:38 + len(EXTRA_COLUMNS)] == list(EXTRA_COLUMNS)


def test_every_intensity_source_of_the_bundled_table_is_explained():
    import json

    from codecarbon.data import __file__ as data_init

    table = json.loads((Path(data_init).parent / "carbon_intensity.json").read_text(encoding="utf-8"))
    text = _text(DOCS / "columns.md")
    labels = [key for key, source in table["sources"].items() if "factors" not in source]
    assert labels, "the table names its sources"
    missing = [key for key in labels if f"`{key}" not in text]
    assert not missing, f"intensity_source values not explained in docs/columns.md: {missing}"


# --------------------------------------------------------------------------------------------------- links

def _links(path: Path) -> list[str]:
    prose = _prose(_text(path))
    return _LINK.findall(prose) + _REFERENCE.findall(prose)


@pytest.mark.parametrize("page", PAGES + [README], ids=lambda p: p.name)
def test_relative_links_point_to_files_of_this_repository(page: Path):
    problems = []
    for target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        if not path_part:  # a link to a heading of this page
            if anchor and anchor not in _anchors(page):
                problems.append(f"{target}: no such heading here")
            continue
        if path_part.startswith("/") or ".." in Path(path_part).parts:
            problems.append(f"{target}: points outside {page.parent.name or 'the repository'}")
            continue
        resolved = (page.parent / path_part).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            problems.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {path_part}")
    assert not problems, f"{page.name}: " + "; ".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_speak_of_this_repository_only(page: Path):
    text = _text(page)
    outside = [m.group(0) for m in re.finditer(r"\.\./[\w./-]*|/work/[\w./-]*", text)]
    assert not outside, f"{page.name} points outside the repository: {outside}"


def test_the_index_lists_every_page_and_the_readme_points_to_it():
    listed = {target.partition("#")[0] for target in _links(DOCS / "index.md")}
    missing = [p.name for p in PAGES if p.name != "index.md" and p.name not in listed]
    assert not missing, f"docs/index.md does not list: {missing}"
    assert "docs/index.md" in {t.partition("#")[0] for t in _links(README)}


# ------------------------------------------------------------------------------------------------ settings

def _named_settings(page: Path) -> list[str]:
    """Config keys a page names: INI blocks, `--set key=value`, "the `key` setting", tables of keys."""
    text = _text(page)
    names: list[str] = []
    for block in re.findall(r"^```ini[^\n]*\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            match = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
            if match and not line.lstrip().startswith(("#", ";")):
                names.append(match.group(1).lower())
    names += [m.lower() for m in re.findall(r"--set\s+([A-Za-z_][A-Za-z0-9_]*)=", text)
              if m.lower() not in _PLACEHOLDERS]
    if page.name in ("configuration.md", "columns.md"):
        names += re.findall(r"the `([a-z_][a-z0-9_]*)` setting", text)
        for table in re.findall(r"^\| *key *\|.*?\n((?:\|.*\n?)+)", text, re.M):
            for row in table.splitlines()[1:]:
                names += re.findall(r"`([a-z_][a-z0-9_]*)`", row.split("|")[1])
    return names


@pytest.mark.parametrize("page", PAGES + [README], ids=lambda p: p.name)
def test_settings_and_variables_named_in_the_docs_exist(page: Path):
    known = _known_settings()
    text = _text(page)
    variables = set(re.findall(r"\bCODECARBON_([A-Z0-9][A-Z0-9_]*)", text))
    unknown_variables = sorted(f"CODECARBON_{v}" for v in variables
                               if v not in OTHER_VARIABLES and v.lower() not in known)
    unknown_keys = sorted({k for k in _named_settings(page) if k not in known})
    assert not unknown_variables and not unknown_keys, (
        f"{page.name} names what is not a parameter: {unknown_variables + unknown_keys}")


def test_the_settings_check_catches_a_made_up_key(tmp_path: Path):
    """The checker itself: a page naming a key or variable that does not exist is caught."""
    page = tmp_path / "configuration.md"
    page.write_text("```ini\n[codecarbon]\nmeasure_power_secs = 5\nno_such_key = 1\n```\n"
                    "Set `CODECARBON_NO_SUCH_THING=1` or the `pue` setting.\n", encoding="utf-8")
    known = _known_settings()
    assert [k for k in _named_settings(page) if k not in known] == ["no_such_key"]
    assert "no_such_thing" not in known and "pue" in known


# ------------------------------------------------------------------------------ what the pages quote or list

def _squash(text: str) -> str:
    return " ".join(text.split())


def test_the_rapl_message_quoted_is_the_one_logged():
    from codecarbon.hardware.rapl import REMEDY

    logged = REMEDY.format(root="/sys/class/powercap")
    quoted = _squash(_text(DOCS / "troubleshooting.md"))
    assert _squash(logged) in quoted
    assert "sudo chmod -R a+r /sys/class/powercap/intel-rapl" in quoted


def test_the_csv_moved_aside_message_quoted_is_the_one_logged():
    import inspect

    from codecarbon.output_methods import file

    source = _squash(inspect.getsource(file))
    quoted = _squash(_text(DOCS / "troubleshooting.md"))
    for words in ("has a header this version does not write (or is not UTF-8 text); it was moved to",
                  "and new rows go to a new", "ended inside a row (cut short); that row is ended before ours",
                  "the row is kept and written at the next flush or stop"):
        assert words in quoted, f"troubleshooting.md does not quote {words!r}"
        assert words in source.replace('" "', ""), f"the CSV output no longer logs {words!r}"
    assert file.BACKUP_SUFFIX == ".bak" and "emissions.csv.1.bak" in quoted


def test_the_gpu_bindings_warning_quoted_is_the_one_logged():
    base = pytest.importorskip("codecarbon.hardware.base")
    bindings = getattr(base, "GPU_BINDINGS", None)
    if bindings is None:
        pytest.skip("the GPU-bindings warning is not in this tree yet")
    text = _squash(_text(DOCS / "gpu.md"))
    for module, vendor, install in bindings.values():
        expected = (f"{vendor} GPU driver found but its Python bindings ({module}) cannot be imported: "
                    f"GPU energy is not measured. Install them with: {install}")
        assert expected in text, f"docs/gpu.md does not quote the {vendor} warning as logged"


def test_every_extra_of_pyproject_is_in_the_table():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads(_text(ROOT / "pyproject.toml"))["project"]["optional-dependencies"]
    text = _text(DOCS / "gpu.md")
    missing = [name for name in extras if name != "test" and f"codecarbon[{name}]" not in text]
    assert not missing, f"extras not described in docs/gpu.md: {missing}"


def test_the_magic_options_documented_are_the_parsers():
    notebook = pytest.importorskip("codecarbon.viz.notebook", reason="the notebook magic is not in this tree yet")
    parser = notebook._parser()
    options = {flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")}
    section = _text(DOCS / "notebooks.md").split("## `%load_ext codecarbon`", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(--[a-z][a-z-]*)", section))
    assert options == documented, f"missing: {sorted(options - documented)}, extra: {sorted(documented - options)}"
