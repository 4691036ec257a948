"""Client resolution: which expressions are redis-py clients (sync/async, cluster)."""

from pipelint.clients.project import ProjectIndex, module_name_for
from pipelint.clients.resolve import ClientInfo, Resolver, normalize_qualname
from pipelint.clients.scopes import Scope, ScopeIndex, build_scopes, dotted_name

__all__ = [
    "ClientInfo",
    "ProjectIndex",
    "Resolver",
    "Scope",
    "ScopeIndex",
    "build_scopes",
    "dotted_name",
    "module_name_for",
    "normalize_qualname",
]
