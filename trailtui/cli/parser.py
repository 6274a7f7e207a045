"""The argument parser: one sub-parser per command.

A filter often starts with a negation (``trailtui query -name:Describe*``), which argparse
would take for an unknown option. So wherever a filter goes -- the ``filter`` positional of
query and bookmarks save, the value of the explorer's ``--filter`` -- an argument that looks
like a negated term (``-`` then anything but ``-``, a digit or a space) and names none of the
parser's options is read as a filter term: argparse sees it behind a NUL that argv can never
hold, removed again after parsing. Options still win (``-h``, ``--limit 5``, ``--since=2d``,
``--lim 5``); ``--bogus`` is still an error, and so is a term where another option expects
its value (``--since -x``). Filter terms may be separate arguments, on both sides of the
options, and a term ends a ``--from A B`` list as an option would.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast, overload

from .common import EXIT_USAGE

_N = TypeVar("_N")

# `-name:x`, `-word`, `-"quoted words"`; not `--option`, not a negative number (`--limit -1`)
_NEGATED = re.compile(r"-[^-\d\s]")
_OPTION_LIKE = re.compile(r"-(?!\d*\.?\d+$)[^\s]+$")
# argv can't hold NUL (C strings): a shielded argument can never be one the user typed
_SHIELD = "\0"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error on stderr and exit status 2, and filters that may
    begin with ``-``."""

    _inner = False

    def error(self, message: str) -> NoReturn:
        message = message.replace(_SHIELD, "")
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")

    @overload
    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: None = None
    ) -> tuple[argparse.Namespace, list[str]]: ...
    @overload
    def parse_known_args(
        self, args: Iterable[str] | None, namespace: _N
    ) -> tuple[_N, list[str]]: ...
    @overload
    def parse_known_args(self, *, namespace: _N) -> tuple[_N, list[str]]: ...

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> tuple[Any, list[str]]:
        if self._inner:  # parse_known_intermixed_args calling back: already shielded
            return super().parse_known_args(args, namespace)
        # each (sub)parser gets just its own arguments: argparse decides where a command begins
        positionals = [a for a in self._actions if not a.option_strings]
        # how many positionals come before the filter terms (None: this parser takes none)
        before = next((i for i, a in enumerate(positionals) if a.dest == "filter"), None)
        argv = self._shield(list(sys.argv[1:] if args is None else args), before)
        if before is None:
            ns, extras = super().parse_known_args(argv, namespace)
        else:
            # filter terms on both sides of options: `query name:x --demo -error:*`
            self._inner = True
            try:
                ns, extras = super().parse_known_intermixed_args(argv, namespace)
            finally:
                self._inner = False
        for key, value in vars(ns).items():
            setattr(ns, key, _unshield(value))
        return ns, [a.replace(_SHIELD, "") for a in extras]

    def _option(self, arg: str) -> argparse.Action | None:
        """The option ``arg`` names: exactly, as ``--opt=value``, or abbreviated (as argparse
        allows); None for anything else, an ambiguous abbreviation included."""
        if not arg.startswith("-"):
            return None
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg
        options = self._option_string_actions
        if name in options:
            return options[name]
        if self.allow_abbrev and name.startswith("--"):
            found = {options[o] for o in options if o.startswith(name)}
            if len(found) == 1:
                return found.pop()
        return None

    def _shield(self, args: list[str], before: int | None) -> list[str]:
        """``args`` with each negated filter term where a filter goes hidden from argparse's
        option matching (a leading NUL, removed again after parsing). ``before``: how many
        positionals come before the filter terms (None: this parser takes none)."""
        out: list[str] = []
        seen = 0  # positionals so far
        value_of: argparse.Action | None = None  # the option the next argument is the value of
        run: int | None = None  # where the option taking several values (--from A B) is in out
        moved: list[str] = []  # such options and their values, put after the filter terms
        for i, arg in enumerate(args):
            if arg == "--":
                if before is None:
                    return out + moved + args[i:]
                # everything after is positional; intermixed parsing would forget that
                if run is not None:
                    moved += out[run:]
                    del out[run:]
                rest = [_SHIELD + a if a.startswith("-") else a for a in args[i + 1 :]]
                return out + rest + moved
            option = self._option(arg)
            if option is None and _NEGATED.match(arg):
                if value_of is not None:
                    shield = value_of.dest == "filter"  # --filter -name:x
                else:
                    shield = before is not None and seen >= before
                if shield:
                    arg = _SHIELD + arg
                    if run is not None:
                        # it ends the run, as argparse's option would: `--from DIR -name:x`
                        moved += out[run:]
                        del out[run:]
                        run = None
            if option is not None:
                explicit = "=" in arg  # --since=2d
                value_of = option if option.nargs is None and not explicit else None
                greedy = option.nargs in ("+", "*") and not explicit
                run = len(out) if greedy else None
            elif value_of is not None:
                value_of = None
            elif _OPTION_LIKE.match(arg):
                run = None  # argparse ends a run of values at anything that looks like an option
            elif run is None:
                seen += 1
            out.append(arg)
        return out + moved


def _unshield(value: object) -> object:
    if isinstance(value, str):
        return value.replace(_SHIELD, "")
    if isinstance(value, list):
        return [_unshield(v) for v in value]
    return value


class _Terms(argparse.Action):
    """Filter terms given as several arguments make one filter, as if typed in the filter
    bar: ``trailtui query -name:Describe* region:eu-west-1``."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values if isinstance(values, str) else " ".join(values))


def _add_source_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--from",
        dest="from_paths",
        nargs="+",
        metavar="PATH",
        help="files or folders of CloudTrail logs (read into the cache first)",
    )
    src.add_argument("--demo", action="store_true", help="the bundled demo incident")
    p.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")


def _add_live_args(p: argparse.ArgumentParser) -> None:
    live = p.add_argument_group("live CloudTrail (LookupEvents)")
    live.add_argument(
        "--profile", metavar="NAME[,NAME]", help="AWS profile(s); several = several accounts"
    )
    live.add_argument("--region", metavar="REGION[,REGION]|all", help="region(s) to look up")
    live.add_argument(
        "--endpoint-url", metavar="URL", help="CloudTrail endpoint (default: boto3's)"
    )
    live.add_argument(
        "--log-group",
        metavar="NAME[,NAME]",
        help="read CloudTrail from CloudWatch Logs group(s) (name or ARN) instead of LookupEvents",
    )


def _add_athena_args(p: argparse.ArgumentParser) -> None:
    a = p.add_argument_group("Athena (org-scale trails; see `trailtui athena setup`)")
    a.add_argument("--athena", metavar="DB.TABLE", help="run the filter on this Athena table")
    a.add_argument("--workgroup", metavar="NAME", help="Athena workgroup (default: setup's)")
    a.add_argument(
        "--yes", action="store_true", help="run a query with no time window (scans everything)"
    )


def _add_athena_command(sub: Any) -> None:
    at = sub.add_parser(
        "athena",
        help="Athena over a trail's bucket: setup",
        description="Create the CloudTrail table (partition projection over the accounts, "
        "regions and days the bucket holds) so `--athena DB.TABLE` can query it.",
    )
    asub = at.add_subparsers(dest="action", required=True, parser_class=_Parser)
    s = asub.add_parser("setup", help="create or update the table; remember the workgroup")
    s.add_argument("location", metavar="s3://BUCKET[/PREFIX]")
    s.add_argument("--database", default="trailtui")
    s.add_argument("--table", default="cloudtrail")
    s.add_argument("--workgroup", default="primary")
    s.add_argument("--output", default="", metavar="s3://RESULTS/", help="query result location")
    s.add_argument("--profile", metavar="NAME")
    s.add_argument("--region", metavar="REGION")


class _Outline(_Parser):
    """A command's parser when the command line names no command (the explorer): the main
    parser shows only the command's name and help line, so the command's arguments are not
    built (about 200 arguments: ~40 M instructions, ~12 ms, of every explorer start). It
    never parses: argparse hands arguments to a command's parser only when the command line
    names that command, and then build_parser builds that one."""

    def __init__(self, **kwargs: Any) -> None:  # no argparse set-up: nothing reads it
        pass

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def add_mutually_exclusive_group(self, **kwargs: Any) -> Any:
        return self

    def add_subparsers(self, **kwargs: Any) -> Any:
        return _OutlineCommands()


# every command's name (build_parser checks it has no other)
COMMANDS = frozenset(
    [
        "ingest",
        "query",
        "detect",
        "bookmarks",
        "verify",
        "gaps",
        "watch",
        "alarm",
        "case",
        "history",
        "who",
        "athena",
    ]
)


class _OutlineCommands:
    def add_parser(self, name: str, **kwargs: Any) -> _Outline:
        return _Outline()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the command line it will parse (``argv``), only the commands it
    names have their arguments built (the others: their name and help line)."""
    named = COMMANDS if argv is None else COMMANDS.intersection(argv)

    def command_parser(**kwargs: Any) -> _Parser:
        # argparse names a command's parser "trailtui COMMAND"
        built = kwargs["prog"].rsplit(" ", 1)[-1] in named
        return _Parser(**kwargs) if built else _Outline(**kwargs)

    p = _Parser(
        prog="trailtui",
        description="Explore AWS CloudTrail events from the terminal.",
        epilog="Commands: ingest, query, detect, watch, alarm, history, who, bookmarks, case, verify, "
        "gaps, athena. Without a command, "
        "opens the explorer.",
    )
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", parser_class=cast("type[_Parser]", command_parser))

    ing = sub.add_parser("ingest", help="load files and folders into the cache")
    ing.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ing.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")
    ing.add_argument("--force", action="store_true", help="re-read files already ingested")

    q = sub.add_parser(
        "query",
        help="print the events matching a filter",
        description="Print matching events, newest first. Exit 0 with matches, 1 with none, "
        "2 on bad usage.",
    )
    q.add_argument(
        "filter",
        nargs="*",
        default="",
        action=_Terms,
        metavar="FILTER",
        help="filter, e.g. 'name:Stop* user:bob' or -name:Describe* (terms may be separate)",
    )
    _add_source_args(q)
    q.add_argument(
        "--format", choices=("table", "json", "jsonl", "csv"), default="table", help="output"
    )
    q.add_argument("--limit", type=int, default=None, metavar="N", help="at most N events")
    q.add_argument("--since", metavar="WHEN", help="like since: in the filter (24h, 2024-05-01)")
    q.add_argument("--until", metavar="WHEN", help="like until: in the filter")
    q.add_argument("--bookmark", metavar="NAME", help="run a saved filter (ANDed with FILTER)")
    _add_live_args(q)
    _add_athena_args(q)

    d = sub.add_parser(
        "detect",
        help="run Sigma rules for CloudTrail over the window: which fired, how often, when",
        description="Load Sigma rules (a .yml file or a folder of them; other files are "
        "ignored) with pySigma, keep those for CloudTrail (logsource product aws, service "
        "cloudtrail), compile each to one filter and run it over the window: by default "
        "everything in the cache, or the source's default window. Rules that can't be "
        "evaluated exactly (correlations, timeframe, numeric comparisons, placeholders...) are "
        "listed as skipped with the reason. Without --rules, the rules folder in the config "
        f"dir is used: {_rules_dir()} (the config dir is TRAILTUI_CONFIG_DIR when set). "
        "No rules are bundled: e.g. SigmaHQ's rules/cloud/aws/cloudtrail. Exit 0 (with "
        "--exit-code: 1 when a rule of level high or critical fired), 2 on bad usage.",
    )
    d.add_argument(
        "--rules",
        type=Path,
        metavar="PATH",
        help="a Sigma rule file or a folder of them (default: the rules folder in the config dir)",
    )
    _add_source_args(d)
    d.add_argument("--since", metavar="WHEN", help="start of the window (24h, 2024-05-01)")
    d.add_argument("--until", metavar="WHEN", help="end of the window")
    d.add_argument("--format", choices=("table", "json"), default="table", help="output")
    d.add_argument("--show-filter", action="store_true", help="print each rule's compiled filter")
    d.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when a rule of level high or critical fired",
    )
    _add_live_args(d)
    _add_athena_args(d)

    b = sub.add_parser(
        "bookmarks",
        help="saved filters: save, list, show, delete, export, import",
        description="Saved filters live in bookmarks.toml in the config dir "
        "(TRAILTUI_CONFIG_DIR), readable and editable by hand.",
    )
    bsub = b.add_subparsers(dest="action", required=True, parser_class=_Parser)
    bs = bsub.add_parser("save", help="save a filter under a name")
    bs.add_argument("name")
    bs.add_argument("filter", nargs="+", action=_Terms, metavar="FILTER")
    bs.add_argument("--since", metavar="WHEN", help="a relative window (24h, 7d) or a start time")
    bs.add_argument("--until", metavar="WHEN", help="an end time")
    bs.add_argument("--source", default="", help="where it applies (demo, a path, ...)")
    bsub.add_parser("list", help="every bookmark")
    bsh = bsub.add_parser("show", help="one bookmark as TOML")
    bsh.add_argument("name")
    bd = bsub.add_parser("delete", help="delete a bookmark")
    bd.add_argument("name")
    be = bsub.add_parser("export", help="print bookmarks as TOML (all, or the names given)")
    be.add_argument("names", nargs="*")
    bi = bsub.add_parser(
        "import", help="add the bookmarks of a TOML file (same names are replaced)"
    )
    bi.add_argument("file", type=Path)

    v = sub.add_parser(
        "verify",
        help="validate trail log file integrity (digests, hashes, signatures)",
        description="Like `aws cloudtrail validate-logs`, for a bucket or a synced copy of one "
        "(`aws s3 sync`): digests' signatures (a folder's newest digest can't be checked "
        "offline: its signature lives in S3's object metadata), their chain, and the SHA-256 of "
        "every log file. A bucket: the last 24 h unless --since; a folder: everything it holds. "
        "Exit 0 when everything checkable is valid, 1 otherwise.",
    )
    v.add_argument("location", metavar="s3://BUCKET[/PREFIX]|PATH")
    v.add_argument("--since", metavar="WHEN")
    v.add_argument("--until", metavar="WHEN")
    v.add_argument(
        "--public-keys",
        metavar="FILE",
        help="the JSON `aws cloudtrail list-public-keys` prints (for an offline machine)",
    )
    v.add_argument(
        "--cache",
        type=Path,
        metavar="PATH",
        help="the cache each log file's result is kept in (the explorer's detail view and case "
        "exports say whether an event's file was validated)",
    )
    _add_live_args(v)

    g = sub.add_parser(
        "gaps",
        help="delivery gaps: stretches where an account-region delivered no log file",
        description="Per account and region, stretches of at least --min with no log file while "
        "it delivered before and after, or while the trail's other regions delivered; with the "
        "reason when the cache knows it (logging stopped, region not in the trail). A local "
        "folder is read whole unless --since/--until narrow it; a bucket, the last 24 h. With "
        "--profile/--region (LookupEvents) or --log-group (CloudWatch Logs) instead of --from: "
        "the window (the last 24 h unless told) is fetched, and the stretches that could not be "
        "are listed the same way. Exit 0 with no gap, 1 with gaps, 2 on bad usage.",
    )
    _add_source_args(g)
    g.add_argument("--min", default="30m", metavar="DURATION", help="shortest gap (default 30m)")
    g.add_argument("--since", metavar="WHEN", help="start of the window (24h, 2024-05-01)")
    g.add_argument("--until", metavar="WHEN", help="end of the window")
    g.add_argument("--format", choices=("text", "json"), default="text")
    _add_live_args(g)

    wa = sub.add_parser(
        "watch",
        help="print each new event matching a filter as it arrives",
        description="Print each new matching event as it arrives, oldest first, until Ctrl-C "
        "or SIGTERM. The first run starts from now (--since asks for a backlog); what was "
        "printed is kept in the cache, so a restart repeats nothing and prints what arrived "
        "while it was stopped. --exec runs a command per event with the raw event on its "
        "stdin (split like a shell would, never run by one); its failure is reported on "
        "stderr and the watch goes on.",
    )
    wa.add_argument(
        "filter",
        nargs="*",
        default="",
        action=_Terms,
        metavar="FILTER",
        help="filter, e.g. 'name:StopInstances' (terms may be separate)",
    )
    _add_source_args(wa)
    wa.add_argument("--bookmark", metavar="NAME", help="a saved filter (ANDed with FILTER)")
    wa.add_argument("--format", choices=("table", "jsonl"), default="table", help="output")
    wa.add_argument("--since", metavar="WHEN", help="first run: print the backlog from WHEN")
    wa.add_argument(
        "--exec",
        metavar="CMD",
        help="run CMD for each event, the raw event on its stdin, e.g. --exec 'notify.sh -v'",
    )
    wa.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="seconds between polls (default: the source's: 3 for logs and folders, 15 for "
        "LookupEvents, 20 for S3)",
    )
    _add_live_args(wa)

    al = sub.add_parser(
        "alarm",
        help="saved filters as CloudWatch alarms: create, list, delete",
        description="A bookmark becomes a metric filter on the trail's log group (its pattern "
        "compiled exactly: values match case-sensitively, as typed) and an alarm notifying an "
        "SNS topic. --preset cis creates the CIS AWS Foundations Benchmark's CloudTrail "
        "monitoring set (also built-in bookmarks cis-*: explore them first). Ours are named "
        "trailtui-<bookmark>.",
    )
    asub = al.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ac = asub.add_parser("create", help="a metric filter and an alarm from a bookmark or preset")
    ac.add_argument("--bookmark", metavar="NAME", help="the saved filter (e.g. cis-root-use)")
    ac.add_argument("--preset", choices=("cis",), help="the CIS benchmark's monitoring set")
    ac.add_argument("--log-group", required=True, metavar="NAME", help="the trail's log group")
    ac.add_argument("--topic", required=True, metavar="SNS_ARN", help="SNS topic to notify")
    ac.add_argument("--threshold", type=float, default=1.0, metavar="N", help="events (default 1)")
    ac.add_argument(
        "--period", type=int, default=300, metavar="SECONDS", help="per period (default 300)"
    )
    ac.add_argument("--dry-run", action="store_true", help="print the patterns, create nothing")
    alist = asub.add_parser("list", help="our alarms (trailtui-*) with their state")
    ad = asub.add_parser("delete", help="an alarm and its metric filter")
    ad.add_argument("name", metavar="NAME", help="trailtui-<bookmark> (the prefix may be left out)")
    for sp in (ac, alist, ad):
        sp.add_argument("--profile", metavar="NAME", help="AWS profile")
        sp.add_argument("--region", metavar="REGION", help="region (default: boto3's)")

    c = sub.add_parser("case", help="pinned evidence: show or export a case")
    csub = c.add_subparsers(dest="action", required=True, parser_class=_Parser)
    cshow = csub.add_parser("show", help="the pins of a case, oldest first")
    cshow.add_argument("--case", default="default")
    cexp = csub.add_parser("export", help="Markdown timeline + JSONL with SHA-256 + the filters")
    cexp.add_argument("--case", default="default")
    cexp.add_argument("--to", type=Path, default=None, metavar="DIR", help="folder (default: .)")

    h = sub.add_parser(
        "history",
        help="an EC2 instance's lifecycle, oldest first",
        description="Every lifecycle event of an instance with its state change, who, from "
        "where and with what. Exit 0 when there is any, 1 when none.",
    )
    h.add_argument("instance", metavar="INSTANCE_ID", help="i-…")
    _add_source_args(h)
    h.add_argument("--format", choices=("table", "jsonl"), default="table")
    _add_live_args(h)
    _add_athena_args(h)

    w = sub.add_parser(
        "who",
        help="who really made an event: the chain of credentials back to its origin",
        description="Follow the event's temporary credentials back through the STS calls that "
        "issued them. Exit 0 when the event is cached, 1 when not.",
    )
    w.add_argument("event_id", metavar="EVENT_ID")
    _add_source_args(w)
    w.add_argument("--format", choices=("text", "json"), default="text")
    _add_live_args(w)
    _add_athena_args(w)
    _add_athena_command(sub)

    # the explorer's own options live on the main parser
    p.add_argument("--from", dest="from_paths", nargs="+", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--demo", action="store_true", help="open the bundled demo incident")
    p.add_argument("--filter", metavar="FILTER", help="open with this filter")
    p.add_argument("--bookmark", metavar="NAME", help="open with a saved filter")
    p.add_argument("--case", default="default", metavar="NAME", help="the case pins go to")
    p.add_argument(
        "--follow",
        action="store_true",
        help="open in follow mode: new events appear as they arrive (ctrl+t pauses)",
    )
    p.add_argument(
        "--rules",
        type=Path,
        metavar="PATH",
        help="Sigma rules (a .yml file or a folder) the detections screen (D) runs; default: "
        "the rules folder of the config dir",
    )
    _add_live_args(p)
    _add_athena_args(p)
    p.add_argument("--cache", type=Path, metavar="PATH", help="cache database file")
    if set(sub.choices) != COMMANDS:  # a command the outline would leave without arguments
        raise AssertionError(f"parser.py: COMMANDS must name {sorted(sub.choices)}")
    return p


def _rules_dir() -> str:
    """Where detect looks for rules without --rules (shown in its help)."""
    from ..locations import config_dir

    return str(config_dir() / "rules").replace("%", "%%")


class _Version(argparse._VersionAction):
    """--version, the version looked up only when asked (importlib.metadata and the email
    package it reads the metadata with were ~13 ms of every start)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kw: Any) -> None:
        self.version = _version()
        super().__call__(parser, *args, **kw)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("trailtui")
    except Exception:
        return "unknown"
