"""Who really did it: from an event's temporary credentials back, through the STS calls
that issued them, to an IAM user, a SAML/web identity, an AWS service, another account,
or the edge of what is cached — said as such."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..filter.language import Filter, Term, Value, Word, parse, quote
from ..records.event import ISSUERS, Event, parse_record
from ..store.store import Store

MAX_DEPTH = 12
CLOCK_SLACK_MS = 5 * 60 * 1000  # issuing events can be logged a little after first use
# temporary credentials live at most 36 h (GetSessionToken, GetFederationToken; AssumeRole*
# at most 12 h): the call that issued a key is no older than that before the key's use
LONGEST_SESSION = timedelta(hours=36)
ACCESS_KEY = re.compile(r"[A-Z0-9]{16,128}")
ACCOUNT = re.compile(r"\d{12}")


@dataclass(slots=True)
class Link:
    event_id: str
    rowid: int
    time: datetime
    name: str
    who: str
    principal_type: str
    arn: str
    access_key: str
    session_name: str
    source_identity: str
    source_ip: str
    user_agent: str
    error_code: str
    issued_key: str  # for the STS links: the key they issued

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["time"] = self.time.strftime("%Y-%m-%dT%H:%M:%SZ")
        del d["rowid"]
        return d


@dataclass(slots=True)
class Chain:
    links: list[Link] = field(default_factory=list)
    origin: str = ""  # where the chain ends, in words
    origin_kind: str = (
        ""  # iam-user | root | saml | web-identity | service | account | edge | unknown
    )
    ip_note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "links": [link.to_json() for link in self.links],
            "origin": self.origin,
            "origin_kind": self.origin_kind,
            "ip_note": self.ip_note,
        }


def _link(ev: Event, rowid: int) -> Link:
    p = ev.principal
    return Link(
        event_id=ev.event_id,
        rowid=rowid,
        time=ev.time,
        name=ev.name,
        who=p.display,
        principal_type=p.type,
        arn=p.arn,
        access_key=p.access_key,
        session_name=p.session_name,
        source_identity=p.source_identity,
        source_ip=ev.source_ip,
        user_agent=ev.user_agent,
        error_code=ev.error_code,
        issued_key=ev.issued_key,
    )


def _end(ev: Event) -> tuple[str, str] | None:
    """Where a chain ends at this principal, or None to follow its key further."""
    p = ev.principal
    if p.type == "IAMUser":
        return f"IAM user {p.user_name or p.display}", "iam-user"
    if p.type == "Root":
        return f"the root user of account {p.account or ev.account}", "root"
    if p.type == "SAMLUser":
        return f"SAML identity {p.user_name or p.display}", "saml"
    if p.type == "WebIdentityUser":
        return f"web identity {p.user_name or p.display}", "web-identity"
    if p.type == "AWSService" or (not p.type and p.invoked_by):
        return f"AWS service {p.invoked_by or ev.source}", "service"
    if p.type == "AWSAccount":
        return (
            f"another AWS account, {p.account or '?'} (its caller is not in this trail)",
            "account",
        )
    if p.type == "IdentityCenterUser":
        return f"IAM Identity Center user {p.display}", "saml"
    return None


def who(store: Store, event_id: str, ip_counts: bool = True) -> Chain | None:
    """The chain for one event (None when the event is not in the cache). ``ip_counts``:
    with ``ip_note`` (two counts over the whole cache: ~250 ms on a million events; the
    explorer's detail line asks ``only_here`` instead)."""
    rowid = store.rowid_of(event_id)
    if rowid is None:
        return None
    raw = store.raw(rowid)
    if raw is None:
        return None
    ev = parse_record(json.loads(raw))
    chain = Chain(links=[_link(ev, rowid)])
    seen = {rowid}
    for _ in range(MAX_DEPTH):
        end = _end(ev)
        if end is not None:
            chain.origin, chain.origin_kind = end
            break
        key = ev.principal.access_key
        if not key:
            chain.origin = (
                f"{ev.principal.display or 'an unknown principal'}: no access key to follow"
            )
            chain.origin_kind = "unknown"
            break
        limit = ev.ts_ms + CLOCK_SLACK_MS
        found = [(r, ts) for r, ts in store.issuers_of(key) if ts <= limit and r not in seen]
        if not found:
            chain.origin = (
                f"the edge of the cache: no event that issued {key} is cached "
                f"(last known: {ev.principal.display or key})"
            )
            chain.origin_kind = "edge"
            break
        rowid = found[0][0]
        seen.add(rowid)
        raw = store.raw(rowid)
        if raw is None:
            break
        ev = parse_record(json.loads(raw))
        chain.links.append(_link(ev, rowid))
    else:
        chain.origin, chain.origin_kind = "chain too long; stopped", "unknown"
    if ip_counts:
        chain.ip_note = _ip_note(store, chain)
    return chain


# ---------------------------------------------------------------- what a source is asked
# A source that reads only what it is asked (Athena, billed by the bytes it scans) is not
# read whole for `who`: it is asked for the event, then for each STS call the chain needs.


def event_filter(event_id: str) -> Filter:
    """The one event (its window is the caller's)."""
    return Filter(f"id:{quote(event_id)}", (Term("id", (Value("exact", event_id),)),))


def issuer_filter(store: Store, chain: Chain) -> Filter | None:
    """What to read for the STS call that issued the key a chain stopped at (the edge of the
    cache): the issuing calls' names, the key as a word (it is in their responseElements),
    the account of the principal that used it (the call is logged where the role or user
    lives) and the 36 h before its use. None when the chain doesn't end at such an edge or
    the key isn't an access key id (the record is untrusted: nothing else is asked for)."""
    if chain.origin_kind != "edge" or not chain.links:
        return None
    raw = store.raw(chain.links[-1].rowid)
    if raw is None:
        return None
    ev = parse_record(json.loads(raw))
    key, account = ev.principal.access_key, ev.principal.account
    if not ACCESS_KEY.fullmatch(key):
        return None
    names = tuple(Value("exact", n) for n in sorted(ISSUERS))
    terms = [Term("name", names)]
    text = f"name:{','.join(sorted(ISSUERS))} {key}"
    if ACCOUNT.fullmatch(account):
        terms.append(Term("account", (Value("exact", account),)))
        text += f" account:{account}"
    slack = timedelta(milliseconds=CLOCK_SLACK_MS)
    return Filter(
        text, tuple(terms), (Word(key),), ev.time - LONGEST_SESSION - slack, ev.time + slack
    )


def _origin_ip(chain: Chain) -> str:
    """The origin's source IP ('' for a service name, not an address)."""
    ip = chain.links[-1].source_ip
    if not ip or (not ip[0].isdigit() and ":" not in ip):
        return ""
    return ip


def _others_filter(ip: str, keys: list[str]) -> Filter:
    """The events from that IP by credentials other than the chain's."""
    return parse(f'ip:"{ip}" -key:{",".join(keys)}')


def only_here(store: Store, chain: Chain, cancelled: Callable[[], bool] | None = None) -> bool:
    """The origin's source IP is in no cached event but by the chain's own credentials (what
    ``ip_note`` says as "seen nowhere else"): one event looked for, not two counts."""
    ip = _origin_ip(chain)
    keys = sorted({link.access_key for link in chain.links if link.access_key})
    if not ip or not keys:
        return False
    return not store.queries.window(_others_filter(ip, keys), 0, 1, None, cancelled)


def _ip_note(store: Store, chain: Chain) -> str:
    """How common the origin's source IP is in the cache."""
    ip = _origin_ip(chain)
    if not ip:
        return ""
    keys = sorted({link.access_key for link in chain.links if link.access_key})
    quoted = f'"{ip}"'
    total = store.count(parse(f"ip:{quoted}"))
    if not keys:
        return f"{ip}: {total:,} events in the cache"
    others = store.count(_others_filter(ip, keys))
    if others == 0:
        return f"{ip}: {total:,} events in the cache, all by this chain's credentials: seen nowhere else"
    return f"{ip}: {total:,} events in the cache, {others:,} of them by other credentials"


def render_text(chain: Chain) -> list[str]:
    lines = []
    for i, link in enumerate(chain.links):
        t = link.time.strftime("%Y-%m-%d %H:%M:%S UTC")
        head = f"{link.name} at {t} (event {link.event_id})"
        if i == 0:
            lines.append(head)
        else:
            issued = f", issued {link.issued_key}" if link.issued_key else ""
            lines.append(f"  <- {head}{issued}")
        who_bits = [link.principal_type or "unknown type"]
        if link.access_key:
            who_bits.append(f"key {link.access_key}")
        if link.source_identity:
            who_bits.append(f"sourceIdentity {link.source_identity}")
        lines.append(f"     by {link.who or '?'} ({', '.join(who_bits)})")
        lines.append(f"     from {link.source_ip or '?'} with {link.user_agent or '?'}")
        if link.error_code:
            lines.append(f"     failed: {link.error_code}")
    lines.append(f"origin: {chain.origin}")
    if chain.ip_note:
        lines.append(chain.ip_note)
    return lines
