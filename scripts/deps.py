"""Install the project's dependencies, read from pyproject.toml, into this interpreter.

pyproject.toml stays the single source of truth. The project itself is not installed
(`[tool.setuptools] packages = []`), so `pip install -e .` would only pull these same
requirements while leaving an `attendance.egg-info/` folder in the work tree.

    python scripts/deps.py                 # [project].dependencies
    python scripts/deps.py test embedded   # plus those optional extras
    python scripts/deps.py --list test     # print the requirements, install nothing
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            sys.exit(f"deps.py: no optional extra {extra!r} in pyproject.toml "
                     f"(known: {', '.join(sorted(optional))})")
        reqs += optional[extra]
    return reqs


def main(argv: list[str]) -> int:
    list_only = "--list" in argv
    extras = [a for a in argv if not a.startswith("-")]
    reqs = requirements(extras)
    if list_only:
        print("\n".join(reqs))
        return 0
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    if os.environ.get("CI"):
        cmd += ["--progress-bar", "off"]
    if os.environ.get("PIP_QUIET", "1") == "1":
        cmd += ["-q"]
    return subprocess.call(cmd + reqs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
