"""Import circles in `packages/`: every strongly connected group of modules, with one chain each.

`nox -s lint` runs it (`python -m tabship_dev cycles`); the layers contracts in pyproject.toml keep
folders in order, and this catches a circle between two modules of one folder too. The graph is
grimp's, the one import-linter checks, with imports under TYPE_CHECKING counted: a circle that
only the type checker sees is still a circle in the design. It needs the `lint` dependency group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ROOTS = ("tabship.data", "tabship.features", "tabship.models", "tabship.serving")


def import_graph(roots: Iterable[str] = ROOTS) -> dict[str, set[str]]:
    """Each module of ROOTS, and the modules of ROOTS it imports."""
    import grimp  # the lint group's: import-linter's own graph builder

    graph = grimp.build_graph(*roots, cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}


def circles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (or a module importing itself),
    each sorted; Tarjan's algorithm, iterative so that a deep graph cannot hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges.get(node, ()):
                    found.append(sorted(group))
    return sorted(found)


def chain(edges: Mapping[str, set[str]], group: list[str]) -> list[str]:
    """One circle through the group's first module, found breadth first inside the group."""
    members, first = set(group), group[0]
    paths = {first: [first]}
    queue = [first]
    while queue:
        node = queue.pop(0)
        for child in sorted(edges.get(node, set()) & members):
            if child == first:
                return [*paths[node], first]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return group


def report(edges: Mapping[str, set[str]]) -> list[str]:
    """One line per circle, `a -> b -> a`; empty when there is none."""
    return [" -> ".join(chain(edges, group)) for group in circles(edges)]
