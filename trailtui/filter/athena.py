"""The filter pushed down to Athena: Trino SQL over the CloudTrail table (the one
``trailtui athena setup`` creates, AWS's documented columns with partition projection on
``account``, ``region`` and ``day``), plus what stays local.

The SQL selects a SUPERSET of what the filter matches; the local matcher, run over the log
files the rows point at, makes it exact. What that takes, value by value:

* This language folds ASCII case only; ``lower()`` folds Unicode too and may change a
  string's length (``İ`` becomes two characters). A positive value is compared as an ASCII
  pattern on ``lower(column)``: its ASCII letters folded, every other character and every
  ``?`` a ``%`` (a superset); a negation ``NOT (column matches)`` needs a SUBSET of what
  matches, so it compares case-sensitively with the spellings that fold to the value (as
  typed, lower, upper, capitalised), and leaves out values it can't say that way. Fields
  read from the record by their exact key path (``tls:``, ``mfa:``...) aren't negated in SQL:
  Hive's SerDe matches keys in any case, the matcher doesn't.
* regexes become ``regexp_like(column, '(?is)…')`` only within a subset that means the same
  in Python (``re.I | re.A | re.S``), Java (Athena) and RE2: ``\\d \\w \\s`` spelled as
  ASCII classes, ``$`` as ``\\n?\\z``, no lookaround, backreferences, ``\\b``, named groups,
  inline flags, possessive quantifiers or non-ASCII characters; else the term stays local.
* CIDR: an IPv4 prefix as a text prefix over whole octets (``10.1.0.0/16`` ->
  ``LIKE '10.1.%'``, wider for prefixes that aren't a multiple of 8); IPv6 stays local.
* ``user:`` matches names the parser derives (``Role/session``, ``root``, ``account N``,
  the last part of an ARN...), each made of parts of userIdentity's fields and a few
  constants: every run of the value between wildcards, ``/``, spaces and non-ASCII
  characters must occur in them (a superset).
* ``resource:``/``type:`` look in ``resources`` and, for EC2 instance ids the parser finds
  in requestParameters/responseElements, in their JSON text.
* free words look in the text of every column (the JSON of requestParameters...). A word
  is split where JSON's syntax could cut it (quotes, backslashes, ``,:{}[]``, non-ASCII)
  and runs that could be part of a key name or ``true/false/null`` are dropped; rows whose
  text holds control characters (escaped in JSON, so a word may match the escape) are
  always admitted. A word found only in a field the table doesn't declare is not found:
  the table declares every field CloudTrail documents.
* ``name``/``source`` fall back on insightDetails and ``id`` on a derived id when the field
  is empty: a positive comparison on them also admits an empty one.
* time: ``eventtime`` compared as text at whole seconds (CloudTrail writes
  ``2024-05-01T12:00:00Z``; any other spelling is admitted), and partitions: a log file is
  filed under the day it was delivered, so the days run from the window's first to the day
  ``DELIVERY_SLACK`` after its end. account/region partition predicates come from positive
  account:/region: values (the folder of a log file is its records' account and region).

Every value is a SQL string literal with its quotes doubled; LIKE patterns escape ``%``,
``_`` and ``\\`` with ``\\``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from ..fields import FIELDS, Field, field_of
from .athena_regex import Untranslatable, printable, regex
from .language import Expr, Filter, Term, Value, Word, de_morgan, expr_text, quote, widened
from .match import value_match

DELIVERY_SLACK = timedelta(hours=1)  # a log file is delivered within this after its events
PARTITIONS = ("account", "region", "day")
EC2_INSTANCE = "AWS::EC2::Instance"
# fields read elsewhere when the column is empty (insightDetails, a derived id, Insight)
FALLBACK = frozenset({"name", "source", "id", "category"})

USER_HAY = (
    "lower(concat_ws(chr(10), useridentity.arn, useridentity.username, "
    "useridentity.principalid, useridentity.invokedby, useridentity.accountid, "
    "useridentity.sessioncontext.sessionissuer.username, useridentity.onbehalfof.userid, "
    "eventsource, 'root aws service account'))"
)
# every text the table holds of a record, for free words (struct leaves, JSON text columns)
_SCALARS = (
    "eventversion",
    "useridentity.type",
    "useridentity.principalid",
    "useridentity.arn",
    "useridentity.accountid",
    "useridentity.invokedby",
    "useridentity.accesskeyid",
    "useridentity.username",
    "useridentity.onbehalfof.userid",
    "useridentity.onbehalfof.identitystorearn",
    "useridentity.sessioncontext.attributes.mfaauthenticated",
    "useridentity.sessioncontext.attributes.creationdate",
    "useridentity.sessioncontext.sessionissuer.type",
    "useridentity.sessioncontext.sessionissuer.principalid",
    "useridentity.sessioncontext.sessionissuer.arn",
    "useridentity.sessioncontext.sessionissuer.accountid",
    "useridentity.sessioncontext.sessionissuer.username",
    "useridentity.sessioncontext.sourceidentity",
    "useridentity.sessioncontext.ec2roledelivery",
    "eventtime",
    "eventsource",
    "eventname",
    "awsregion",
    "sourceipaddress",
    "useragent",
    "errorcode",
    "errormessage",
    "requestid",
    "eventid",
    "readonly",
    "eventtype",
    "apiversion",
    "managementevent",
    "recipientaccountid",
    "sharedeventid",
    "vpcendpointid",
    "vpcendpointaccountid",
    "eventcategory",
    "sessioncredentialfromconsole",
    "tlsdetails.tlsversion",
    "tlsdetails.ciphersuite",
    "tlsdetails.clientprovidedhostheader",
    "array_join(transform(resources, r -> concat_ws(chr(10), r.arn, r.accountid, r.type)), "
    "chr(10))",
)
_JSON_TEXT = (
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "serviceeventdetails",
    "insightdetails",
    "edgedevicedetails",
    "addendum",
)
SCALAR_HAY = "concat_ws(' ', " + ", ".join(_SCALARS) + ")"
WORD_HAY = "concat_ws(chr(10), " + ", ".join(_SCALARS + _JSON_TEXT) + ")"
# the keys of a record the table declares (and JSON's literals): a word's run inside one of
# them may match the record's JSON text but no column
KEYS = (
    (
        "eventVersion userIdentity type principalId arn ARN accountId invokedBy accessKeyId "
        "userName onBehalfOf userId identityStoreArn sessionContext attributes mfaAuthenticated "
        "creationDate sessionIssuer sourceIdentity ec2RoleDelivery webIdFederationData "
        "federatedProvider credentialId identityProvider eventTime eventSource eventName "
        "awsRegion sourceIPAddress userAgent errorCode errorMessage requestParameters "
        "responseElements additionalEventData requestID eventID readOnly resources eventType "
        "apiVersion managementEvent recipientAccountId serviceEventDetails sharedEventID "
        "vpcEndpointId vpcEndpointAccountId eventCategory tlsDetails tlsVersion cipherSuite "
        "clientProvidedHostHeader sessionCredentialFromConsole edgeDeviceDetails insightDetails "
        "addendum true false null"
    )
    .lower()
    .split()
)
_WORD_CUT = frozenset('"\\,:{}[]')


@dataclass(frozen=True, slots=True)
class AthenaPlan:
    """``where``: the filter's condition ('' = every event); ``partitions``: account and
    region partition predicates ('' = every one); ``pushed``/``local``: the terms and words
    the SQL carries and those only the local matcher applies (it applies everything anyway,
    over the log files the rows point at)."""

    where: str = ""
    partitions: str = ""
    pushed: tuple[str, ...] = ()
    local: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.where and not self.partitions:
            return ""
        return "Athena SQL for " + " ".join(self.pushed)

    @property
    def key(self) -> str:
        """What coverage is kept under: two filters with the same SQL read the same files."""
        return " AND ".join(p for p in (self.partitions, self.where) if p)


# --------------------------------------------------------------------------- literals


def lit(s: str) -> str:
    """A SQL string literal (Trino: quotes doubled; backslashes are plain characters)."""
    return "'" + s.replace("'", "''") + "'"


def _like_char(c: str) -> str:
    return "\\" + c if c in "%_\\" else c


def _fold(s: str) -> str:
    return s.translate(_LOWER)


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def wide_pattern(text: str, glob: bool) -> str:
    """A LIKE pattern (on lower(column)) matching at least what the value matches."""
    out: list[str] = []
    for c in text:
        if glob and c in "*?":
            piece = "%"
        elif printable(c):
            piece = _like_char(_fold(c))
        else:
            piece = "%"
        if piece == "%" and out and out[-1] == "%":
            continue
        out.append(piece)
    return "".join(out)


def _spellings(text: str) -> list[str]:
    """Spellings of a value that fold to it: as typed, lower, upper, capitalised."""
    low = _fold(text)
    return list(dict.fromkeys([text, low, text.translate(_UPPER), low[:1].upper() + low[1:]]))


def exact_pattern(text: str, glob: bool) -> str | None:
    """A case-sensitive LIKE pattern matching only what the value (as spelled) matches."""
    if not all(printable(c) for c in text):
        return None
    out = []
    for c in text:
        if glob and c == "*":
            out.append("%")
        elif glob and c == "?":
            out.append("_")
        else:
            out.append(_like_char(c))
    return "".join(out)


# --------------------------------------------------------------------------- terms


def columns(field: Field) -> tuple[str, ...]:
    """The field's column expressions: its own, or its record paths as columns of the table
    (struct members lower-cased; inside a JSON-text column, ``try(json_extract_scalar(...))``: NULL where it is no JSON). A path
    the table doesn't declare gives none: the field stays local."""
    if field.athena:
        return field.athena
    out = []
    for path in field.record:
        head, _, rest = path.partition(".")
        if rest and head.lower() in _JSON_TEXT:
            if not re.fullmatch(r"[A-Za-z0-9_.]+", rest):
                return ()
            out.append(f"try(json_extract_scalar({head.lower()}, {lit('$.' + rest)}))")
        elif path.lower() in _SCALARS:
            out.append(path.lower())
        else:
            return ()
    return tuple(out)


def _cidr(cidr: str) -> str:
    """An IPv4 CIDR as a LIKE pattern over whole octets (a superset)."""
    if ":" in cidr:
        raise Untranslatable(cidr)
    addr, _, plen = cidr.partition("/")
    n = int(plen or 32)
    if n == 32:
        return addr
    octets = addr.split(".")[: n // 8]
    return ".".join(octets) + ".%" if octets else "%.%.%.%"


def _match(col: str, field: Field, v: Value) -> str:
    """``col`` holds a string ``v`` matches (or more)."""
    if v.kind == "regex":
        return f"regexp_like({col}, {lit(regex(v.text))})"
    if v.kind == "cidr":
        return f"{col} LIKE {lit(_cidr(v.text))}"
    if v.kind == "exact":
        alts = field.expand(v.text) if field.expand is not None else [v.text]
        out = []
        for a in alts:
            if not a:
                continue
            if _printable_all(a):
                out.append(f"lower({col}) = {lit(_fold(a))}")
            else:
                out.append(f"lower({col}) LIKE {lit(wide_pattern(a, glob=False))} ESCAPE '\\'")
        return " OR ".join(out) or "FALSE"
    if v.kind == "glob":
        p = wide_pattern(v.text, glob=True)
        if p == "%":
            return f"{col} <> ''"
        return f"lower({col}) LIKE {lit(p)} ESCAPE '\\'"
    raise Untranslatable(v.text)


def _exact_match(col: str, field: Field, v: Value) -> str | None:
    """``col`` holds a string ``v`` matches, said only where sure (a subset), or None."""
    if v.kind not in ("exact", "glob"):
        return None
    alts = field.expand(v.text) if field.expand is not None and v.kind == "exact" else [v.text]
    out = []
    for a in alts:
        if not a or a[:1] in "{[":  # an object's JSON text is no string to the parser
            continue
        for s in _spellings(a):
            p = exact_pattern(s, glob=v.kind == "glob")
            if p is None:
                continue
            if v.kind == "glob":
                if not p.strip("%"):
                    out.append(f"{col} <> ''")
                else:
                    out.append(f"{col} LIKE {lit(p)} ESCAPE '\\'")
            else:
                out.append(f"{col} = {lit(s)}")
    return " OR ".join(dict.fromkeys(out)) or None


def _fragments(text: str, cuts: frozenset[str], glob: bool) -> list[str]:
    """Folded runs of printable ASCII between the cut characters (and wildcards)."""
    runs: list[str] = []
    cur = ""
    for c in text:
        if not printable(c) or c in cuts or (glob and c in "*?"):
            if cur:
                runs.append(cur)
            cur = ""
        else:
            cur += _fold(c)
    if cur:
        runs.append(cur)
    return runs


def _contains(hay: str, frags: list[str]) -> str:
    return " AND ".join(f"strpos({hay}, {lit(f)}) > 0" for f in dict.fromkeys(frags))


def _user(t: Term) -> str:
    ors = []
    for v in t.values:
        if v.kind not in ("exact", "glob"):
            raise Untranslatable(v.text)
        frags = _fragments(v.text, frozenset("/ "), glob=v.kind == "glob")
        if not frags:
            raise Untranslatable(v.text)  # user:* and the like: everything
        ors.append(_contains(USER_HAY, frags))
    return _any(ors)


_INSTANCE = (
    "lower(requestparameters) LIKE '%instance%' OR requestparameters LIKE '%i-%' "
    "OR lower(responseelements) LIKE '%instance%' OR responseelements LIKE '%i-%'"
)


def _resource(t: Term) -> str:
    field = FIELDS[t.field]
    member = "r.arn" if t.field == "resource" else "r.type"
    ors = [
        f"cardinality(filter(resources, r -> {_any([_match(member, field, v) for v in t.values])}))"
        " > 0"
    ]
    for v in t.values:
        if t.field == "type":
            if value_match(field, v, EC2_INSTANCE):
                ors.append(_INSTANCE)
            continue
        # instance ids found in requestParameters / responseElements
        if v.kind not in ("exact", "glob"):
            raise Untranslatable(v.text)
        frags = _fragments(v.text, frozenset('"\\'), glob=v.kind == "glob")
        if not frags:
            raise Untranslatable(v.text)
        ors += [_contains(f"lower({c})", frags) for c in ("requestparameters", "responseelements")]
    return _any(ors)


def _any(parts: list[str]) -> str:
    parts = list(dict.fromkeys(parts))
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(f"({p})" for p in parts) + ")"


def compile_term(t: Term) -> str | None:
    """The term's condition, or None when it stays local."""
    field = FIELDS.get(t.field)
    if field is None or field.kind == "time":
        return None
    try:
        if field.kind == "bool":
            want = t.values[0].text if len({v.text for v in t.values}) == 1 else ""
            if not want:
                return None if t.negated else "readonly IS NOT NULL"
            if t.negated:
                same = ", ".join(lit(s) for s in _spellings(want))
                return f"NOT coalesce(trim(readonly) IN ({same}), false)"
            return f"lower(readonly) LIKE {lit('%' + want + '%')}"
        if t.field == "user":
            return None if t.negated else _user(t)
        if t.field in ("resource", "type"):
            return None if t.negated else _resource(t)
        cols = columns(field)
        if not cols:
            return None
        if t.negated:
            if field.read is None:
                # read from the record by its exact key, while the SerDe matches keys in any
                # case: the column may hold a value the matcher doesn't see
                return None
            # a string column given a JSON object or array holds its JSON text, which the
            # matcher reads as empty: such a row is kept for the matcher to decide
            subs = [
                f"({m}) AND NOT coalesce(substr({c}, 1, 1) IN ('{{', '['), false)"
                for c in cols
                for v in t.values
                if (m := _exact_match(c, field, v))
            ]
            if not subs:
                return None
            return "NOT coalesce(" + " OR ".join(f"({s})" for s in subs) + ", false)"
        ors = []
        for c in cols:
            ors += [_match(c, field, v) for v in t.values]
            if t.field in FALLBACK:
                ors.append(f"coalesce({c}, '') = ''")
        return _any(ors)
    except Untranslatable:
        return None


def _word(text: str, negated: bool) -> str | None:
    if negated:
        if not text or not all(printable(c) and c not in _WORD_CUT for c in text):
            return None
        return f"NOT coalesce(strpos({WORD_HAY}, {lit(text)}) > 0, false)"
    frags = [
        f
        for f in _fragments(text, _WORD_CUT, glob=False)
        if not any(f in k for k in KEYS)  # could be the part of a key in the record's JSON
    ]
    if not frags:
        return None
    return (
        f"({_contains(f'lower({WORD_HAY})', frags)} OR regexp_like({SCALAR_HAY}, '[\\x00-\\x1f]'))"
    )


def _partition(t: Term) -> str:
    """account:/region: as a predicate on the partition column (only what prunes exactly)."""
    if t.negated or t.field not in ("account", "region"):
        return ""
    if not all(v.kind == "exact" and v.text and _printable_all(v.text) for v in t.values):
        return ""
    vals = ", ".join(lit(_fold(v.text)) for v in t.values)
    return f'"{t.field}" IN ({vals})'


def _printable_all(s: str) -> bool:
    return all(printable(c) for c in s)


def _path(t: Term) -> str | None:
    """A path term (not negated), widened: the struct member the table declares, or, inside
    a JSON-text column, its last key and its values' text anywhere in that text (keys in any
    case and arrays on the way: json_extract_scalar would miss them)."""
    head, _, rest = t.field.partition(".")
    if t.field.lower() in _SCALARS:
        fld = field_of(t.field)
        try:
            return _any([_match(t.field.lower(), fld, v) for v in t.values])
        except Untranslatable:
            return None
    if not rest or head.lower() not in _JSON_TEXT:
        return None
    key = '"' + rest.rsplit(".", 1)[-1] + '"'
    if not _printable_all(key) or "\\" in key:
        return None
    col = f"lower({head.lower()})"
    cond = f"strpos({col}, {lit(_fold(key))}) > 0"
    texts = [v.text for v in t.values if v.kind == "exact"]
    if len(texts) == len(t.values) and all(
        x and _printable_all(x) and not set(x) & set('"\\/') for x in texts
    ):
        values = " OR ".join(f"strpos({col}, {lit(_fold(x))}) > 0" for x in dict.fromkeys(texts))
        cond = f"{cond} AND ({values})"
    return cond


def compile_expr(e: Expr) -> str | None:
    """A condition selecting a superset of what the expression matches (None: it stays
    local). A NOT goes down to the terms; an AND keeps what narrows, an OR needs every side."""
    if isinstance(e, Word):
        return _word(e.text, e.negated)
    if isinstance(e, Term):
        t = widened(e)
        if t is None:
            return None
        if field_of(t.field).path:
            return None if t.negated else _path(t)
        return compile_term(t)
    op, items = de_morgan(e)
    parts = [compile_expr(x) for x in items]
    if op == "and":
        got = [p for p in parts if p is not None]
        return " AND ".join(f"({p})" for p in got) if got else None
    if any(p is None for p in parts):
        return None
    return " OR ".join(f"({p})" for p in parts if p is not None)


def compile_filter(f: Filter) -> AthenaPlan:
    """The SQL condition for a filter (its window: ``window_sql``)."""
    conds: list[str] = []
    parts: list[str] = []
    pushed: list[str] = []
    local: list[str] = []
    for t in f.terms:
        c = compile_expr(t)
        if c is None:
            local.append(expr_text(t))
            continue
        conds.append(c)
        pushed.append(expr_text(t))
        p = _partition(t)
        if p:
            parts.append(p)
    for w in f.words:
        text = ("-" if w.negated else "") + quote(w.text)
        c = _word(w.text, w.negated)
        if c is None:
            local.append(text)
        else:
            conds.append(c)
            pushed.append(text)
    for g in f.groups:
        c = compile_expr(g)
        if c is None:
            local.append(expr_text(g))
        else:
            conds.append(c)
            pushed.append(expr_text(g))
    where = " AND ".join(f"({c})" for c in dict.fromkeys(conds))
    return AthenaPlan(where, " AND ".join(parts), tuple(pushed), tuple(local))
