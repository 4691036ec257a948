"""RP101 fix: rewrite a run of commands as one pipeline (see rules/RP101.md)."""

from __future__ import annotations
