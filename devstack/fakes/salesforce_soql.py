"""The SOQL subset the fake Salesforce understands.

``SELECT f1, f2 FROM Type [WHERE cond AND cond ...] [ORDER BY f [ASC|DESC]] [LIMIT n]`` where a
condition is ``field = value``, ``field != value``, ``field LIKE 'pattern'`` (``%`` and ``_``,
case-insensitive) or ``field IN (v1, v2)``; values are quoted strings, numbers, true/false/null.
Email compares case-insensitively, as Salesforce does. ``SELECT COUNT() FROM ...`` counts.
"""

from __future__ import annotations

import re
from typing import Any

from devstack.fakes.salesforce_objects import OBJECTS, READ_ONLY, SfError

SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<type>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
COND = re.compile(
    r"^\s*(?P<field>\w+)\s*(?:(?P<op>=|!=|\bLIKE\b)\s*(?P<value>'(?:[^'\\]|\\.)*'|true|false|null|\d+)"
    r"|IN\s*\((?P<values>[^)]*)\))\s*$",
    re.IGNORECASE,
)


def _literal(raw: str) -> Any:
    raw = raw.strip()
    if raw.startswith("'"):
        return raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    return int(raw)


def _like(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def run_query(
    records: dict[str, dict[str, dict[str, Any]]], soql: str
) -> tuple[list[dict[str, Any]], bool]:
    """The rows a query selects, each with its ``attributes`` (url relative to the version), and
    whether it only counts them (``SELECT COUNT()``: the answer has no records)."""
    m = SOQL.match(soql)
    if m is None:
        raise SfError(400, "MALFORMED_QUERY", f"unexpected token in query: {soql[:80]}")
    sobject = m["type"]
    if sobject not in OBJECTS:
        raise SfError(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    known = {"Id", *READ_ONLY, *OBJECTS[sobject]["fields"]}
    count_only = re.fullmatch(r"COUNT\(\s*\)", m["fields"].strip(), re.IGNORECASE) is not None
    fields = [] if count_only else [f.strip() for f in m["fields"].split(",")]
    conditions = []
    if m["where"]:
        for part in re.split(r"\s+AND\s+", m["where"], flags=re.IGNORECASE):
            cm = COND.match(part)
            if cm is None:
                raise SfError(400, "MALFORMED_QUERY", f"unexpected token: {part.strip()[:60]}")
            conditions.append(cm)
    for name in [*fields, *(c["field"] for c in conditions), *([m["order"]] if m["order"] else [])]:
        if name not in known:
            raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'")
    rows = list(records[sobject].values())
    for cond in conditions:
        name = cond["field"]
        if cond["values"] is not None:
            wanted = [_literal(v) for v in cond["values"].split(",") if v.strip()]
            rows = [r for r in rows if r.get(name) in wanted]
        else:
            value = _literal(cond["value"])
            if cond["op"].upper() == "LIKE":
                if not isinstance(value, str):
                    raise SfError(400, "MALFORMED_QUERY", f"LIKE needs a quoted string: {name}")
                rows = [r for r in rows if _like(value).fullmatch(str(r.get(name) or ""))]
                continue
            if name == "Email" and isinstance(value, str):
                same = [r for r in rows if str(r.get(name) or "").lower() == value.lower()]
            else:
                same = [r for r in rows if r.get(name) == value]
            rows = same if cond["op"] == "=" else [r for r in rows if r not in same]
    if m["order"]:
        rows.sort(
            key=lambda r: str(r.get(m["order"]) or ""),
            reverse=(m["dir"] or "").upper() == "DESC",
        )
    if m["limit"]:
        rows = rows[: int(m["limit"])]
    return [
        {
            "attributes": {"type": sobject, "url": f"/sobjects/{sobject}/{r['Id']}"},
            **{f: r.get(f) for f in fields},
        }
        for r in rows
    ], count_only
