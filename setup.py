"""Build hook: ship the rule documentation (``rules/*.md``) in the wheel as package data
``pipelint/rules/docs/*.md`` without keeping a second copy in the repository.

Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RULE_DOCS = Path(__file__).resolve().parent / "rules"


class BuildPyWithRuleDocs(build_py):
    """``build_py`` that also copies ``rules/*.md`` into ``pipelint/rules/docs/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's rules/ directly
        target = Path(self.build_lib) / "pipelint" / "rules" / "docs"
        docs = sorted(RULE_DOCS.glob("*.md"))
        if not docs:
            raise SystemExit(f"no rule documentation found in {RULE_DOCS}")
        self.mkpath(str(target))
        for doc in docs:
            self.copy_file(str(doc), str(target / doc.name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            target = Path(self.build_lib) / "pipelint" / "rules" / "docs"
            outputs += [str(target / doc.name) for doc in sorted(RULE_DOCS.glob("*.md"))]
        return outputs


setup(cmdclass={"build_py": BuildPyWithRuleDocs})
