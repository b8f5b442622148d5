"""Metadata filters: ``--where 'dept=総務' --where 'year>=2023'`` or ``{"year": {">=": 2023}}``.

Grammar, one condition per expression, all conditions ANDed:

    FIELD = VALUE      FIELD != VALUE     FIELD < VALUE      FIELD <= VALUE
    FIELD > VALUE      FIELD >= VALUE     FIELD in V1,V2,...

``VALUE`` is a number when it reads as one (``2024``, ``1.5``), else text; quote it to keep
digits as text (``code="007"``). The library also takes a dict: ``{"dept": "総務"}`` (equality),
``{"year": {">=": 2023, "<": 2025}}``, ``{"dept": {"in": ["総務", "人事"]}}``.

Fields are a document's metadata (``ragkit.docmeta``: automatic ones like ``suffix`` and
``language`` and the user's ``--meta``), plus ``collection``, ``source`` and ``pages``. A condition
on a field a document does not have is false for it (``!=`` too), so an unknown field matches
nothing. Numbers compare with numbers and text with text: ``year >= 2023`` never matches a year
stored as the text ``"2024"``.

The filter becomes SQL over the catalog's ``files`` table (``Filter.sql``): retrieval selects the
allowed documents, then returns the best chunks among theirs on both the lexical and the dense
side (``ragkit.store.Store._filtered``), never a post-filtered cut of an unfiltered top k.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

from .errors import UsageError

Value = Union[str, int, float]
WhereSpec = Union["Filter", Mapping[str, object], Sequence[str], str, None]

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in")
COLUMNS = {"collection": "collection", "source": "source", "pages": "pages"}  # fields that are columns
FIELD = re.compile(r"[\w.-]{1,64}")
_EXPRESSION = re.compile(r"^\s*(?P<field>[^\s=!<>]+?)\s*(?P<op>!=|<=|>=|=|<|>|\s+in\s+)\s*(?P<value>.*?)\s*$", re.S)
_ODD_OPERATOR = re.compile(r"^\s*[\w.-]+\s*([^\w\s.,\"'-]+)\s*\S")  # dept~総務, year≧2023
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
GRAMMAR = "FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE, FIELD<=VALUE, FIELD>VALUE, FIELD>=VALUE or FIELD in V1,V2"


@dataclass(frozen=True)
class Condition:
    """``field op value``; ``value`` is a tuple for ``in``."""

    field: str
    op: str
    value: Value | tuple[Value, ...]

    def sql(self, alias: str = "f") -> tuple[str, list]:
        """This condition as an SQL expression over ``files AS alias``, with its parameters."""
        column = COLUMNS.get(self.field)
        x = f"{alias}.{column}" if column else f"json_extract({alias}.metadata, '$.\"{self.field}\"')"
        if self.op == "in":
            values = list(self.value)  # type: ignore[arg-type]
            return f"{x} IN ({','.join('?' * len(values))})", values
        kind = "('integer','real')" if isinstance(self.value, (int, float)) else "('text')"
        return f"(typeof({x}) IN {kind} AND {x} {self.op} ?)", [self.value]


@dataclass(frozen=True)
class Filter:
    """Conditions that must all hold for a document to be searched."""

    conditions: tuple[Condition, ...]

    @property
    def fields(self) -> set[str]:
        return {c.field for c in self.conditions}

    def sql(self, alias: str = "f") -> tuple[str, list]:
        parts, params = [], []
        for condition in self.conditions:
            text, values = condition.sql(alias)
            parts.append(text)
            params += values
        return " AND ".join(parts) or "1", params

    def to_json(self) -> list[dict]:
        return [{"field": c.field, "op": c.op, "value": list(c.value) if c.op == "in" else c.value}
                for c in self.conditions]


def parse_where(where: WhereSpec) -> Filter | None:
    """A Filter from a dict, a list of expressions, one expression, or None (no filter);
    UsageError naming the expression or field that is malformed."""
    if where is None or isinstance(where, Filter):
        return where
    if isinstance(where, Mapping):
        conditions = [c for field, spec in where.items() for c in _from_dict(str(field), spec)]
    elif isinstance(where, str):
        conditions = [parse_expression(where)]
    else:
        conditions = [parse_expression(str(e)) for e in where]
    return Filter(tuple(conditions)) if conditions else None


def parse_expression(text: str) -> Condition:
    """One CLI expression (``dept=総務``, ``year>=2023``, ``dept in 総務,人事``) as a Condition."""
    m = _EXPRESSION.match(text)
    if not m:
        odd = _ODD_OPERATOR.match(text)
        if odd:
            raise UsageError(f"--where {text!r}: unknown operator {odd.group(1)!r}; use one of {', '.join(OPERATORS)}")
        raise UsageError(f"--where {text!r}: not a condition; write {GRAMMAR}")
    field, op, raw = m.group("field"), m.group("op").strip(), m.group("value")
    if op == "in":
        values = tuple(parse_value(v.strip(), text) for v in raw.split(","))
        return _condition(field, op, values, text)
    if _starts_with_operator(raw):
        raise UsageError(f"--where {text!r}: unknown operator {op + raw[:1]!r}; use one of {', '.join(OPERATORS)}")
    return _condition(field, op, parse_value(raw, text), text)


def parse_value(raw: str, expression: str) -> Value:
    """A number when ``raw`` reads as one, else text; quotes keep digits as text."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    if not raw:
        raise UsageError(f"--where {expression!r}: a value is missing; write {GRAMMAR}")
    if _NUMBER.fullmatch(raw):
        number = float(raw)
        return int(number) if number.is_integer() and not any(ch in raw for ch in ".eE") else number
    return raw


def _starts_with_operator(raw: str) -> bool:
    return raw[:1] in ("=", "<", ">", "!", "~")


def _from_dict(field: str, spec: object) -> list[Condition]:
    where = f"{{{field!r}: {json.dumps(spec, ensure_ascii=False, default=str)}}}"
    if not isinstance(spec, Mapping):
        return [_condition(field, "=", spec, where)]
    if not spec:
        raise UsageError(f"where {where}: an empty condition; give an operator like {{'>=': 2023}}")
    return [_condition(field, str(op), value, where) for op, value in spec.items()]


def _condition(field: str, op: str, value: object, expression: str) -> Condition:
    if not FIELD.fullmatch(field):
        raise UsageError(f"where {expression}: {field!r} is not a field name (letters, digits, '_', '.', '-'; "
                         "at most 64)")
    if op not in OPERATORS:
        raise UsageError(f"where {expression}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    if op == "in":
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
            raise UsageError(f"where {expression}: 'in' takes a non-empty list of values")
        return Condition(field, op, tuple(_checked_value(v, expression) for v in value))
    return Condition(field, op, _checked_value(value, expression))


def _checked_value(value: object, expression: str) -> Value:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UsageError(f"where {expression}: values are text or numbers, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Scope:
    """What one retrieval may see: only ``collections`` (None: every collection) and, of those,
    the documents passing ``filter``. Given to both sides before ranking (never a post-filter)."""

    collections: tuple[str, ...] | None = None
    filter: Filter | None = None

    @property
    def everything(self) -> bool:
        return self.collections is None and self.filter is None

    def sql(self, alias: str = "f") -> tuple[str, list]:
        """The scope as an SQL condition over ``files AS alias``, with its parameters."""
        parts, params = [], []
        if self.collections is not None:
            parts.append(f"{alias}.collection IN ({','.join('?' * len(self.collections))})")
            params += list(self.collections)
        if self.filter is not None:
            text, values = self.filter.sql(alias)
            parts.append(text)
            params += values
        return " AND ".join(parts) or "1", params
