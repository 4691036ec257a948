"""``--output-format sarif``: one SARIF 2.1.0 run, built with ``sarif-om``.

What GitHub code scanning reads is always there: ``tool.driver.rules`` with help
from ``rules/<CODE>.md``, results with ``ruleId``/``ruleIndex``/``level``, a
location relative to ``%SRCROOT%`` (the repository root: the git top level, else the
project root) and a
``partialFingerprints.primaryLocationLineHash`` that does not depend on line
numbers, so an alert keeps its identity when unrelated code above it moves.

The ``sarif-om`` classes carry ``attrs`` defaults, some of which are sentinels
(``ruleIndex = -1``, ``rank = -1.0``) that must never be written. ``to_sarif_json``
serializes with the schema's camelCase names, drops unset and defaulted values,
and keeps an explicit ``level`` (the schema default, but GitHub's documentation
asks for it).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tokenize
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import attr
import sarif_om as om

from pipelint import __version__
from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic, Edit
from pipelint.diagnostics import Fix as PipelintFix
from pipelint.reporters import ReportOptions, rule_url
from pipelint.reporters._source import Sources, repository_root
from pipelint.rules import ALL_RULES, Rule
from pipelint.rules.docs import doc_sections, first_paragraphs, rule_doc

__all__ = ["report", "sarif_log", "to_sarif_json", "line_hash", "SCHEMA_URI", "SRCROOT"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
INFORMATION_URI = "https://github.com/pipelint/pipelint"
FULL_DESCRIPTION_LIMIT = 1024
#: fields whose schema default we still write out explicitly
_ALWAYS_WRITTEN = frozenset({"level"})


# --------------------------------------------------------------------------- serializing


def _json_value(obj: Any) -> Any:
    if attr.has(type(obj)):
        out: dict[str, Any] = {}
        for f in attr.fields(type(obj)):
            value = getattr(obj, f.name)
            if value is None:
                continue
            default = f.default
            if isinstance(default, attr.Factory):  # type: ignore[arg-type]
                default = default.factory()  # type: ignore[call-arg]
            if default is not attr.NOTHING and value == default and f.name not in _ALWAYS_WRITTEN:
                continue
            out[f.metadata.get("schema_property_name", f.name)] = _json_value(value)
        return out
    if isinstance(obj, dict):
        return {str(k): _json_value(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_value(v) for v in obj]
    return obj


def to_sarif_json(log: om.SarifLog) -> str:
    """Serialize a ``sarif_om`` object tree as SARIF JSON. A lone surrogate (a byte of
    a file name that is not UTF-8, in a message) is written as its JSON escape, so the
    output is always valid UTF-8."""
    text = json.dumps(_json_value(log), indent=2, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# --------------------------------------------------------------------------- sources


def _normalized(line: str) -> str:
    """A line's tokens without comments and whitespace; the line with its whitespace
    collapsed when it does not tokenize on its own (a continuation line)."""
    stripped = line.strip()
    try:
        tokens = [
            t.string
            for t in tokenize.generate_tokens(io.StringIO(stripped + "\n").readline)
            if t.type
            not in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            )
        ]
    except (tokenize.TokenError, SyntaxError):
        return " ".join(stripped.split())
    return " ".join(tokens)


def line_hash(code: str, lines: Iterable[str]) -> str:
    """The hash part of ``primaryLocationLineHash``: the rule and the flagged code,
    never its line numbers, indentation or comments (so adding a ``# noqa`` keeps it)."""
    text = "\n".join(n for n in (_normalized(line) for line in lines) if n)
    return hashlib.sha256(f"{code}\0{text}".encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- building


class _Builder:
    def __init__(self, result: RunResult, options: ReportOptions) -> None:
        self.result = result
        self.options = options
        self.cwd = options.cwd.resolve()
        config = options.config
        project = (config.root if config is not None else self.cwd).resolve()
        # URIs are relative to the repository root (the git top level), where GitHub
        # code scanning resolves them, even when the configuration is in a subfolder
        # of a monorepo; outside a repository, to the project root
        self.repository = repository_root(project)
        self.root = self.repository or project
        self.sources = Sources(self.cwd, options.texts)
        reported = list(result.diagnostics)
        if options.show_suppressed:
            reported += result.suppressed
        self.reported = sorted(reported, key=self._order)
        codes = {r.code for r in ALL_RULES.values() if config is None or config.enabled(r.code)}
        codes |= {d.code for d in self.reported} | {d.code for d in result.not_analysed}
        self.rule_codes = sorted(codes)
        self.rule_index = {code: i for i, code in enumerate(self.rule_codes)}
        self.fingerprints = self._fingerprints()

    # paths
    def _artifact(self, d: Diagnostic) -> om.ArtifactLocation:
        path = Path(os.path.realpath(self.sources.path(d)))  # no error on a link loop
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return om.ArtifactLocation(uri=path.as_uri())
        # the file name's own bytes, percent-encoded (it need not be UTF-8)
        return om.ArtifactLocation(uri=quote(os.fsencode(rel.as_posix())), uri_base_id=SRCROOT)

    def _order(self, d: Diagnostic) -> tuple[str, int, int, str, str, int, int]:
        return (
            self._artifact(d).uri,
            d.location.row,
            d.location.column,
            d.code,
            d.message,
            d.end_location.row,
            d.end_location.column,
        )

    # fingerprints
    def _fingerprints(self) -> dict[int, str]:
        """``hash:occurrence`` for every diagnostic (suppressed ones included, so that
        ``--show-suppressed`` never renumbers the others), by ``id()``."""
        out: dict[int, str] = {}
        seen: Counter[tuple[str, str]] = Counter()
        every = sorted([*self.result.diagnostics, *self.result.suppressed], key=self._order)
        for d in every:
            lines = self.sources.lines(d) or []
            flagged = lines[d.location.row - 1 : d.end_location.row]
            digest = line_hash(d.code, flagged)
            key = (self._artifact(d).uri, digest)
            seen[key] += 1
            out[id(d)] = f"{digest}:{seen[key]}"
        return out

    # pieces
    def _rule(self, code: str) -> om.ReportingDescriptor:
        rule: type[Rule] | None = ALL_RULES.get(code)
        if rule is None:  # pragma: no cover - every emitted code is a registered rule
            return om.ReportingDescriptor(id=code, help_uri=rule_url(code))
        doc = rule_doc(code)
        sections = doc_sections(doc) if doc else {}
        what = sections.get("What it does")
        full = first_paragraphs(what, FULL_DESCRIPTION_LIMIT) if what else rule.summary
        return om.ReportingDescriptor(
            id=rule.code,
            name=rule.name,
            short_description=om.MultiformatMessageString(text=rule.summary),
            full_description=om.MultiformatMessageString(text=full),
            help=om.MultiformatMessageString(
                text=doc or rule.summary, markdown=doc or rule.summary
            ),
            help_uri=rule_url(rule.code),
            default_configuration=om.ReportingConfiguration(level=rule.level),
            properties={"tags": list(rule.tags), "precision": rule.precision},
        )

    def _level(self, code: str) -> str:
        rule = ALL_RULES.get(code)
        return rule.level if rule is not None else "warning"

    def _region(self, start: Any, end: Any) -> om.Region:
        return om.Region(
            start_line=start.row,
            start_column=start.column,
            end_line=end.row,
            end_column=end.column,
        )

    def _location(self, d: Diagnostic) -> om.Location:
        return om.Location(
            physical_location=om.PhysicalLocation(
                artifact_location=self._artifact(d),
                region=self._region(d.location, d.end_location),
            )
        )

    def _fix(self, d: Diagnostic, fix: PipelintFix) -> om.Fix:
        edits: list[Edit] = sorted(fix.edits, key=lambda e: (e.location, e.end_location))
        return om.Fix(
            description=om.Message(text=fix.message or f"Fix {d.code}"),
            artifact_changes=[
                om.ArtifactChange(
                    artifact_location=self._artifact(d),
                    replacements=[
                        om.Replacement(
                            deleted_region=self._region(e.location, e.end_location),
                            inserted_content=om.ArtifactContent(text=e.content),
                        )
                        for e in edits
                    ],
                )
            ],
            properties={"applicability": fix.applicability},
        )

    def _suppression(self, d: Diagnostic) -> om.Suppression:
        justification = None
        lines = self.sources.lines(d) or []
        comment = d.suppression or ""
        for line in lines[d.location.row - 1 : d.end_location.row]:
            at = line.find(comment) if comment else -1
            if at >= 0:
                rest = line[at + len(comment) :].strip().lstrip("-–—:#").strip()
                justification = rest or None
                break
        return om.Suppression(kind="inSource", justification=justification)

    def _result(self, d: Diagnostic) -> om.Result:
        return om.Result(
            rule_id=d.code,
            rule_index=self.rule_index[d.code],
            level=self._level(d.code),
            message=om.Message(text=d.message),
            locations=[self._location(d)],
            partial_fingerprints={"primaryLocationLineHash": self.fingerprints[id(d)]},
            fixes=[self._fix(d, d.fix)] if d.fix is not None and d.fix.edits else None,
            suppressions=[self._suppression(d)] if d.suppressed else None,
            properties={"runtime": d.runtime} if d.runtime else None,
        )

    def _invocation(self) -> om.Invocation:
        notes = [
            om.Notification(
                message=om.Message(text=f"{d.path} was not analysed: {d.message}"),
                level="error" if d.code == "RP902" else "warning",
                locations=[self._location(d)],
                associated_rule=om.ReportingDescriptorReference(
                    id=d.code, index=self.rule_index[d.code]
                ),
            )
            for d in sorted(self.result.not_analysed, key=self._order)
        ]
        return om.Invocation(
            execution_successful=not any(d.code == "RP902" for d in self.result.not_analysed),
            tool_execution_notifications=notes or None,
        )

    def log(self) -> om.SarifLog:
        driver = om.ToolComponent(
            name="pipelint",
            version=__version__,
            semantic_version=__version__,
            information_uri=INFORMATION_URI,
            rules=[self._rule(code) for code in self.rule_codes],
        )
        run = om.Run(
            tool=om.Tool(driver=driver),
            invocations=[self._invocation()],
            original_uri_base_ids={
                SRCROOT: om.ArtifactLocation(
                    uri=self.root.as_uri() + "/",
                    description=om.Message(
                        text="The repository root (git top level)"
                        if self.repository is not None
                        else "The project root (folder of the configuration file)"
                    ),
                )
            },
            column_kind="unicodeCodePoints",
            results=[self._result(d) for d in self.reported],
        )
        return om.SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=[run])


def sarif_log(result: RunResult, options: ReportOptions | None = None) -> om.SarifLog:
    """The SARIF log of a run, as ``sarif_om`` objects."""
    return _Builder(result, options if options is not None else ReportOptions()).log()


def report(result: RunResult, out: TextIO, options: ReportOptions) -> None:
    out.write(to_sarif_json(sarif_log(result, options)))
    out.write("\n")
