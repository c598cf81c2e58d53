"""tabship's development tooling: the workspace graph, test selection, releases and artifacts.

Not published and not installed: nox sessions, the pre-commit hooks and the tests put `tools/` on
PYTHONPATH. It needs the Python standard library only (`ci_check` also needs PyYAML, from the `ci`
dependency group), so it runs before any environment exists.
"""
