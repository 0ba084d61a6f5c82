"""The API is the top layer of the product (only the demo data sits above it): it may use
reports, ratings and conversations; none of them, nor the project's settings and urls beyond
mounting it, imports the API."""

import pytest

from tests.test_layers import PROJECT_ROOT, imported_packages


@pytest.mark.parametrize("app", ["conversations", "ratings", "reports"])
def test_no_app_imports_the_api(app):
    problems = []
    for path in sorted((PROJECT_ROOT / app).rglob("*.py")):
        module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        if "api" in imported_packages(path.read_text(), module):
            problems.append(str(path.relative_to(PROJECT_ROOT)))
    assert problems == []
