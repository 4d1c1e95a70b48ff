"""The `codecarbon` command: init, config, detect, monitor, report, login, get-token, test-api.

argparse only, so the CLI needs no extra package; login and its tokens need the ``login`` extra (authlib),
`report --html` the ``carbonboard`` extra (plotly).
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from codecarbon._version import __version__
from codecarbon.core.config import (
    ALIASES,
    CLI_KEYS,
    CONFIG_FILE_NAME,
    PARAMETERS,
    Settings,
    load_settings,
    mask_secret,
)
from codecarbon.support.errors import CliError, MissingDependencyError  # the error tree; CliError importable here

_SECRETS = ("api_key", "electricitymaps_api_token")
_WIZARD_KEYS = ("project_name", "experiment_id", "api_endpoint", "api_key", "output_dir", "country_iso_code",
                "log_level")


def _local_config() -> Path:
    return Path.cwd() / CONFIG_FILE_NAME


def _global_config() -> Path:
    return Path.home() / CONFIG_FILE_NAME


# --------------------------------------------------------------------------------------------------- init
def command_init(args: argparse.Namespace, out: TextIO) -> int:
    """Make sure ./.codecarbon.config holds an experiment_id: keep one, ask the API for one, or make one."""
    from codecarbon.cli.api import DEFAULT_PROJECT_ID, ApiUnavailable, create_experiment, experiment_request_body
    from codecarbon.cli.config_file import read_section, update_section

    path = _local_config()
    local = read_section(path)
    if local.get("experiment_id", "").strip():
        print(f"experiment_id already set in {path}: {local['experiment_id'].strip()}", file=out)
        return 0
    settings = load_settings({}, offline=True)
    if args.offline:
        experiment_id = str(uuid.uuid4())
        update_section(path, {"experiment_id": experiment_id})
        print(f"Offline: wrote a new local experiment_id {experiment_id} to {path}.\n"
              "It is not registered with the CodeCarbon API; run `codecarbon init` online to get one that is.",
              file=out)
        return 0
    endpoint = args.api_endpoint or settings.api_endpoint
    project_id = local.get("project_id") or read_section(_global_config()).get("project_id") or DEFAULT_PROJECT_ID
    body = experiment_request_body(project_id, settings.country_iso_code, None, settings.region)
    from codecarbon.cli.auth import credentials_path, token_for_api

    target = _bearer_target(args)
    bearer = None
    if target.allowed:
        bearer = token_for_api(warn=lambda text: print(f"codecarbon: {text}", file=sys.stderr),
                               timeout_s=args.timeout)
    elif credentials_path().exists():
        print(f"codecarbon: warning: {target.refusal}", file=sys.stderr)
    try:
        experiment_id = create_experiment(endpoint, body, api_key=settings.api_key, bearer_token=bearer,
                                          timeout_s=args.timeout)
    except ApiUnavailable as problem:
        experiment_id = str(uuid.uuid4())
        update_section(path, {"experiment_id": experiment_id})
        print(f"Could not create an experiment on the CodeCarbon API: {problem}.", file=sys.stderr)
        print(f"Wrote a new local experiment_id {experiment_id} to {path} instead; it is not registered with "
              "the API (run `codecarbon init` again once it is reachable, after removing that line).", file=out)
        return 0
    update_section(path, {"experiment_id": experiment_id})
    print(f"Created experiment {experiment_id} on {endpoint}; saved to {path}.", file=out)
    return 0


# ------------------------------------------------------------------------------------------------- config
def _validated(key: str, value: str) -> tuple[str, str]:
    """The canonical key and the value to write, or CliError saying what is wrong."""
    name = key.strip().lower()
    if name in CLI_KEYS:
        return name, value.strip()
    name = ALIASES.get(name, name)
    parameter = PARAMETERS.get(name)
    if parameter is None:
        from codecarbon.core.parameters import did_you_mean

        raise CliError(f"unknown setting {key!r}{did_you_mean(name)}; `codecarbon config --list` shows the valid "
                       "ones")
    if not parameter.from_files:
        raise CliError(f"{name} can only be passed to the tracker in code, not set in a config file")
    if value.strip():
        try:
            parameter.convert(value.strip())
        except ValueError as problem:
            raise CliError(f"{name}: expected {problem}") from None
    return name, value.strip()


def _format(name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if name in _SECRETS:
        return mask_secret(value)
    if name == "log_level":
        return logging.getLevelName(value).lower()
    if isinstance(value, list):
        return ",".join(getattr(item, "value", str(item)) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _effective_outputs(settings: Settings) -> str:
    """The outputs in effect when output_methods is not set: CSV alone, or what the deprecated flags select."""
    from codecarbon.output_methods.selection import selected_methods

    methods = ",".join(method.value for method in selected_methods(settings)) or "(none)"
    return f"{methods} (in effect: output_methods is not set)"


def show_settings(settings: Settings, out: TextIO) -> None:
    """Every file-settable key with its value and the layer it came from."""
    for label, path in (("global", _global_config()), ("local", _local_config())):
        print(f"# {label} config: {path}{'' if path.exists() else ' (absent)'}", file=out)
    width = max(len(name) for name in PARAMETERS)
    for name, parameter in PARAMETERS.items():
        if parameter.from_files:
            source = settings.source(name)
            shown = _format(name, settings[name])
            if name == "output_methods" and settings[name] is None:  # what is on by default, not "(none)"
                shown = _effective_outputs(settings)
            print(f"{name:<{width}} = {shown}  [{source}]", file=out)
    from codecarbon.cli.config_file import read_section

    for path in (_global_config(), _local_config()):
        for key in sorted(CLI_KEYS & set(read_section(path))):
            print(f"{key:<{width}} = {read_section(path)[key]}  [{path}]", file=out)


def _wizard(target: Path, out: TextIO, ask: Callable[[str], str]) -> dict[str, str]:
    """Ask for the common keys, showing the current value; an empty answer keeps it."""
    settings = load_settings({}, offline=True)
    changes: dict[str, str] = {}
    print(f"Writing to {target}. Press Enter to keep the value in brackets.", file=out)
    for name in _WIZARD_KEYS:
        current = _format(name, settings[name])
        for _attempt in range(3):
            answer = ask(f"{name} [{current}]: ").strip()
            if not answer:
                break
            try:
                key, value = _validated(name, answer)
            except CliError as problem:
                print(f"  {problem}", file=out)
                continue
            changes[key] = value
            break
    return changes


def command_config(args: argparse.Namespace, out: TextIO) -> int:
    """Show, set or remove keys of the local (or --global) config file; a wizard when run in a terminal."""
    from codecarbon.cli.config_file import update_section

    if args.list:
        for name, parameter in PARAMETERS.items():
            if parameter.from_files:
                print(f"{name}: {parameter.doc}", file=out)
        return 0
    target = _global_config() if args.use_global else _local_config()
    changes: dict[str, str | None] = {}
    for item in args.set or []:
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise CliError(f"--set expects key=value, got {item!r}")
        name, text = _validated(key, value)
        changes[name] = text
    for key in args.unset or []:
        name = ALIASES.get(key.strip().lower(), key.strip().lower())
        if name not in PARAMETERS and name not in CLI_KEYS:
            raise CliError(f"unknown setting {key!r}")
        changes[name] = None
    if not changes and not args.show and sys.stdin is not None and sys.stdin.isatty():
        changes.update(_wizard(target, out, input))
    if changes:
        update_section(target, changes)
        for name, value in changes.items():
            shown = "(removed)" if value is None else (mask_secret(value) if name in _SECRETS else value)
            print(f"{target}: {name} = {shown}", file=out)
        load_settings({}, offline=True)  # the result must still load; a ConfigError here names the problem
    if args.show or not changes:
        show_settings(load_settings({}, offline=True), out)
    return 0


# ------------------------------------------------------------------------------------------------- detect
def command_detect(args: argparse.Namespace, out: TextIO) -> int:
    """What the tracker would find on this machine, without measuring anything."""
    try:
        from codecarbon.hardware import HardwareOptions, detect_hardware
    except ImportError as error:
        raise CliError(f"hardware detection is not available: {error}") from None
    hardware = detect_hardware(HardwareOptions())
    try:
        physical = f" ({hardware.cpu_physical_count} physical)" if hardware.cpu_physical_count else ""
        sources = ", ".join(f"{component}: {hardware.measure_label(component)}"
                            for component in ("cpu", "gpu", "ram") if hardware.measure_label(component))
        lines = [
            "Detected hardware and usage:",
            f"  RAM:       {hardware.ram_total_size:.1f} GB",
            f"  CPU count: {hardware.cpu_count}{physical}",
            f"  CPU model: {hardware.cpu_model or 'unknown'}",
            f"  GPU count: {hardware.gpu_count}",
            f"  GPU model: {hardware.gpu_model or '(none)'}",
            f"  Measured by: {sources or '(nothing)'}",
        ]
        lines += [f"  note: {note}" for note in hardware.notes]
        lines += [f"  WARNING: {warning}" for warning in getattr(hardware, "warnings", [])]
        lines += _job_lines()
        print("\n".join(lines), file=out)
    finally:
        for source in hardware.sources:
            try:
                source.close()
            except Exception:  # a probe that cannot close is not the user's problem
                pass
    return 0


def _job_lines() -> list[str]:
    """The job this process is part of, as the tracker would see it (launcher variables and job settings)."""
    from codecarbon.core.job import job_from_settings

    try:
        settings = load_settings({}, offline=True)
    except Exception:  # a broken config is reported by the commands that use it
        settings = None
    job = job_from_settings(settings) if settings is not None else job_from_settings({})
    lines = job.describe()
    if job.in_job and settings is not None:
        rule = ("each device of this host measured once by the job" if settings.device_ownership == "host"
                else "every process measures all it sees (device_ownership = off)")
        lines.append(f"    {'ownership:':<18}{rule}")
    return lines


# ------------------------------------------------------------------------------------------------ monitor
def command_monitor(args: argparse.Namespace, out: TextIO) -> int:
    """Track the machine until stopped, or one command (process mode) returning its exit code."""
    from codecarbon.cli.monitor import MonitorError, monitor_until_signalled, plan_monitor, run_and_monitor

    command = list(args.command or [])
    if args.every is not None and not args.every > 0:
        raise CliError(f"--every expects a positive number of seconds, got {args.every:g}")
    try:
        plan = plan_monitor(measure_power_secs=args.measure_power_secs, api_call_interval=args.api_call_interval,
                            api=args.api, offline=args.offline, country_iso_code=args.country_iso_code,
                            region=args.region, project_name=args.project_name, log_level=args.log_level,
                            process_mode=bool(command), prometheus_port=args.prometheus_port,
                            prometheus_host=args.prometheus_host)
    except MonitorError as problem:
        raise CliError(str(problem)) from None
    if command:
        return run_and_monitor(command, plan, out)
    return monitor_until_signalled(plan, out, every_s=args.every, live=not args.no_live)


# ------------------------------------------------------------------------------------------------- report
def command_report(args: argparse.Namespace, out: TextIO) -> int:
    """Summarise emissions CSV files (runs counted once, tasks joined, job totals by node)."""
    from codecarbon.viz.reading import read_runs
    from codecarbon.viz.report import as_html, paper_sentence, render
    from codecarbon.viz.text import terminal_safe

    paths = list(args.paths or ["."])
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise CliError(f"no such file or directory: {', '.join(missing)}")
    reading = read_runs(paths)
    if not reading.files:
        raise CliError(f"no emissions CSV found in {', '.join(paths)}: pass the file or the folder the tracker "
                       "wrote to (output_dir; emissions.csv by default), e.g. `codecarbon report runs/`")
    if args.html:
        target = Path(args.html)
        target.write_text(as_html(reading), encoding="utf-8")
        print(f"wrote {target.resolve()} ({len(reading.runs)} runs)", file=sys.stderr)
        if args.format is None:
            return 0
    if args.sentence:
        print(terminal_safe(paper_sentence(reading.runs, activity=args.activity)), file=out)
        return 0
    out.write(render(reading, args.format or "text"))
    out.flush()
    return 0


# ------------------------------------------------------------------------------- login, get-token, test-api
def _auth_settings(args: argparse.Namespace) -> Any:
    from codecarbon.cli.auth import auth_settings

    return auth_settings(getattr(args, "well_known_url", None), getattr(args, "client_id", None))


def _bearer_target(args: argparse.Namespace) -> Any:
    """The API endpoint and whether the login token may go there (cli/bearer.py): https, and chosen by the user."""
    from codecarbon.cli.auth import remembered_api_origins
    from codecarbon.cli.bearer import ARGUMENT, bearer_target

    given = getattr(args, "api_endpoint", None)
    if given:
        return bearer_target(str(given), ARGUMENT, remembered=remembered_api_origins())
    settings = load_settings({}, offline=True)
    return bearer_target(str(settings.api_endpoint), settings.source("api_endpoint"),
                         remembered=remembered_api_origins())


def _allowed_endpoint(args: argparse.Namespace) -> str:
    """The endpoint for a command that needs the login token, or CliError saying how to confirm it."""
    target = _bearer_target(args)
    if not target.allowed:
        raise CliError(target.refusal)
    return str(target.endpoint)


def _login_token(args: argparse.Namespace, command: str) -> str:
    """A valid (refreshed if needed) login token, or CliError saying how to get one."""
    from codecarbon.cli import auth
    from codecarbon.support.errors import MissingDependencyError

    try:
        auth.require_login_libraries(command)
        return auth.access_token(_auth_settings(args), timeout_s=args.timeout)
    except (auth.AuthError, MissingDependencyError) as problem:
        note = auth.legacy_credentials_note()
        raise CliError(f"{problem}" + (f"\n{note}" if note else "")) from None


def command_login(args: argparse.Namespace, out: TextIO) -> int:
    """Sign in through the browser (OIDC code + PKCE); tokens go to the user's config directory, 0600."""
    from codecarbon.cli import auth
    from codecarbon.cli.api import ApiUnavailable, check_auth
    from codecarbon.support.errors import MissingDependencyError

    try:
        auth.require_login_libraries("codecarbon login")
        settings = _auth_settings(args)
        opener = auth.print_url_only if args.no_browser else None
        result = auth.login(settings, port=args.port, open_browser=opener, wait_s=args.wait,
                            timeout_s=args.timeout)
    except (auth.AuthError, MissingDependencyError) as problem:
        raise CliError(str(problem)) from None
    print(f"Logged in as {result.user}; credentials saved to {result.path}", file=out)
    target = _bearer_target(args)
    endpoint = target.endpoint
    if not target.allowed:
        print(f"codecarbon: warning: logged in; the API check was skipped: {target.refusal}", file=sys.stderr)
    else:
        try:
            check_auth(endpoint, result.access_token, timeout_s=args.timeout)
            print(f"The CodeCarbon API at {endpoint} accepts this login.", file=out)
        except ApiUnavailable as problem:
            print(f"codecarbon: warning: logged in, but the API check failed: {problem}", file=sys.stderr)
        try:
            auth.remember_api_origin(endpoint, result.path)
        except auth.AuthError as problem:
            print(f"codecarbon: warning: {problem}", file=sys.stderr)
    note = auth.legacy_credentials_note()
    if note:
        print(note, file=sys.stderr)
    return 0


def command_get_token(args: argparse.Namespace, out: TextIO) -> int:
    """No argument: print the login's access token. PROJECT_ID (3.3.2): create that project's API key, print it."""
    from codecarbon.cli.api import ApiUnavailable, create_project_token

    endpoint = _allowed_endpoint(args) if args.project_id else ""
    token = _login_token(args, "codecarbon get-token")
    if not args.project_id:
        print(token, file=out)
        return 0
    try:
        api_key = create_project_token(endpoint, token, args.project_id, name=args.token_name, timeout_s=args.timeout)
    except ApiUnavailable as problem:
        raise CliError(f"could not create an API key for project {args.project_id}: {problem}") from None
    print(api_key, file=out)
    print(f"Use it as api_key (e.g. `codecarbon config --set api_key=...`) with project_id = {args.project_id}.",
          file=sys.stderr)
    return 0


def command_test_api(args: argparse.Namespace, out: TextIO) -> int:
    """Is the configured API reachable, and does it accept the login? (authenticated GET /organizations)."""
    from codecarbon.cli.api import ApiRefused, ApiUnavailable, list_organizations

    endpoint = _allowed_endpoint(args)
    token = _login_token(args, "codecarbon test-api")
    try:
        organizations = list_organizations(endpoint, token, timeout_s=args.timeout)
    except ApiRefused as problem:
        raise CliError(f"the API is reachable but does not accept your login: {problem}") from None
    except ApiUnavailable as problem:
        raise CliError(f"the API cannot be used: {problem}") from None
    print(f"The CodeCarbon API at {endpoint} is reachable and accepts your login "
          f"({len(organizations)} organization{'' if len(organizations) == 1 else 's'}).", file=out)
    for organization in organizations:
        if isinstance(organization, dict):
            print(f"  {organization.get('id', '?')}  {organization.get('name', '')}", file=out)
    return 0


# ------------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codecarbon", description="Track the energy and carbon emissions of your computation.")
    parser.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="name", metavar="COMMAND")

    init = commands.add_parser("init", help="make sure ./.codecarbon.config has an experiment_id",
                               description="Print the experiment_id of ./.codecarbon.config, or create one on "
                                           "the CodeCarbon API (a local one with --offline or when it is "
                                           "unreachable) and save it there.")
    init.add_argument("--offline", action="store_true", help="do not contact the API; write a local id")
    init.add_argument("--api-endpoint", help="API base URL (default: from config, else the public API)")
    init.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the API (default 5)")
    init.set_defaults(handler=command_init)

    config = commands.add_parser("config", help="show or change settings in .codecarbon.config",
                                 description="Without options: a short wizard in a terminal, else the resolved "
                                             "settings.")
    config.add_argument("--set", action="append", metavar="KEY=VALUE", help="write a key (repeatable)")
    config.add_argument("--unset", action="append", metavar="KEY", help="remove a key (repeatable)")
    config.add_argument("--global", dest="use_global", action="store_true",
                        help="write ~/.codecarbon.config instead of ./.codecarbon.config")
    config.add_argument("--show", action="store_true", help="print every setting and where it comes from")
    config.add_argument("--list", action="store_true", help="list the keys a config file may set")
    config.set_defaults(handler=command_config)

    detect = commands.add_parser("detect", help="print the hardware the tracker would measure")
    detect.set_defaults(handler=command_detect)

    monitor = commands.add_parser(
        "monitor", help="track this machine until Ctrl+C, or a command: monitor -- CMD ARGS...",
        description="Without a command, track the machine until SIGINT/SIGTERM. With one (after --), run it "
                    "in process mode, print a report and exit with its exit code.")
    monitor.add_argument("--measure-power-secs", type=float, help="seconds between measurements")
    monitor.add_argument("--api-call-interval", type=int, help="measurements between live outputs")
    api = monitor.add_mutually_exclusive_group()
    api.add_argument("--api", dest="api", action="store_true", default=None, help="send results to the API")
    api.add_argument("--no-api", dest="api", action="store_false", help="do not send results to the API")
    monitor.add_argument("--offline", action="store_true", help="no network; needs a country")
    monitor.add_argument("--country-iso-code", help="ISO alpha-3 country code (implies --offline)")
    monitor.add_argument("--region", help="region within the country (offline)")
    monitor.add_argument("--project-name", help="project name written in the rows")
    monitor.add_argument("--log-level", help="debug, info, warning, error or critical")
    monitor.add_argument("--every", type=float, metavar="N",
                         help="seconds between live lines (default: 1 on a terminal, redrawn in place; 10 else)")
    monitor.add_argument("--no-live", action="store_true", help="draw no live line")
    monitor.add_argument("--prometheus-port", type=int, metavar="PORT",
                         help="serve /metrics on this port for Prometheus to scrape (e.g. 9108)")
    monitor.add_argument("--prometheus-host", metavar="ADDRESS",
                         help="address the /metrics endpoint listens on (default 127.0.0.1; 0.0.0.0: all)")
    monitor.add_argument("command", nargs=argparse.REMAINDER, help="the command to run and track")
    monitor.set_defaults(handler=command_monitor)

    def provider_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--well-known-url", help="OpenID discovery URL of the identity provider (default: "
                                                      "$AUTH_SERVER_WELL_KNOWN, auth_server_well_known in the "
                                                      "config, else CodeCarbon's)")
        command.add_argument("--client-id", help="OAuth client id (default: $AUTH_CLIENT_ID, else codecarbon-cli)")
        command.add_argument("--api-endpoint", help="API base URL (default: from config, else the public API)")
        command.add_argument("--timeout", type=float, default=10.0,
                             help="seconds to wait for each network answer (default 10)")

    login = commands.add_parser("login", help="sign in to the CodeCarbon API in your browser",
                                description="OpenID Connect sign-in (authorization code + PKCE) through your "
                                            "browser; the tokens are kept in your config directory, readable "
                                            "only by you.")
    provider_options(login)
    login.add_argument("--port", type=int, default=8090,
                       help="local port of the sign-in redirect (default 8090, as registered; 0 = any free port)")
    login.add_argument("--no-browser", action="store_true",
                       help="print the sign-in URL instead of opening a browser")
    login.add_argument("--wait", type=float, default=300.0,
                       help="seconds to wait for you to sign in (default 300)")
    login.set_defaults(handler=command_login)

    get_token = commands.add_parser("get-token", help="print your login's access token, or create a project "
                                                      "API key: get-token PROJECT_ID",
                                    description="Without PROJECT_ID: print a valid access token of your login "
                                                "(refreshed when needed). With PROJECT_ID: create an API key for "
                                                "that project on the API and print it.")
    get_token.add_argument("project_id", nargs="?", help="project to create an API key for")
    get_token.add_argument("--name", dest="token_name", default="codecarbon-cli", help="name of the new API key")
    provider_options(get_token)
    get_token.set_defaults(handler=command_get_token)

    test_api = commands.add_parser("test-api", help="check that the API is reachable and accepts your login")
    provider_options(test_api)
    test_api.set_defaults(handler=command_test_api)

    report = commands.add_parser(
        "report", help="summarise emissions CSV files: runs, tasks, jobs, a sentence for a paper",
        description="Read emissions CSV files (directories: every *.csv below, task files joined to their run) "
                    "and print what they say. A run counts once however often it was flushed.")
    report.add_argument("paths", nargs="*", metavar="FILE|DIR", help="CSV files or directories (default: .)")
    report.add_argument("--format", choices=("text", "json", "csv", "markdown", "html"),
                        help="output format on stdout (default: text)")
    report.add_argument("--html", metavar="OUT", help="also write a self-contained HTML report with charts")
    report.add_argument("--sentence", action="store_true", help="print only the sentence for a paper's appendix")
    report.add_argument("--activity", help="the sentence's subject, e.g. Training (default: the projects' names)")
    report.set_defaults(handler=command_report)

    from codecarbon.cli.carbon import add_commands  # forecast, wait, estimate (issue 14)

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (console scripts pass it to sys.exit)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in arguments and {"monitor", "wait"} & set(arguments[:arguments.index("--")]):
        split = arguments.index("--")
        arguments, command = arguments[:split], arguments[split + 1:]
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.version:
        print(f"codecarbon v{__version__}")
        return 0
    if not getattr(args, "name", None):
        parser.print_help()
        return 0
    if command:
        args.command = list(args.command or []) + command
    if args.name in ("monitor", "wait") and args.command[:1] == ["--"]:
        args.command = args.command[1:]
    try:
        return int(args.handler(args, sys.stdout) or 0)
    except (CliError, ValueError, MissingDependencyError) as problem:  # ConfigError is a ValueError too
        print(f"codecarbon: error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `codecarbon config --show | head`: the reader left, which is fine
        _silence_stdout()
        return 0
    except OSError as problem:
        print(f"codecarbon: error: {problem}", file=sys.stderr)
        return 1
    except Exception as problem:  # a bug: one line for the user, the traceback in the debug log
        from codecarbon.external.logger import logger

        logger.debug("codecarbon %s failed", args.name, exc_info=True)
        print(f"codecarbon: unexpected error in `{args.name}`: {type(problem).__name__}: {problem}",
              file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
