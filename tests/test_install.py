"""kpy installed as a user installs it: from a clean clone of this repository (what is
committed at HEAD, as CI checks it out), into fresh venvs, dependencies from PyPI through
pip's cache; the README's install lines and its pytest example, run as written.

Marked ``install``: these need PyPI and take most of a minute (``-m "not install"`` leaves
them out). Every command has a timeout.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import kpy
from tests.test_readme import README_INSTALL, README_PLUGIN, block

pytestmark = [pytest.mark.install, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[1]
COMMAND_TIMEOUT = 300


def _env(**extra: str) -> dict[str, str]:
    """This environment without what points Python or pytest at the checkout or this run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")
        and not k.startswith("PYTEST_XDIST")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def sh(argv: list[str | Path], cwd: Path, **env: str) -> str:
    """Run ``argv``; its stdout, or a failure showing its output."""
    out = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=_env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert out.returncode == 0, f"{argv} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean clone of this repository at the checkout's HEAD."""
    path = tmp_path_factory.mktemp("install") / "kpy"
    head = sh(["git", "rev-parse", "HEAD"], ROOT).strip()
    sh(["git", "clone", "--quiet", "--shared", "--no-checkout", ROOT, path], ROOT)
    sh(["git", "checkout", "--quiet", head], path)
    return path


def venv(path: Path) -> Path:
    """A fresh venv at ``path`` (its own pip); its bin directory."""
    sh([sys.executable, "-m", "venv", path], path.parent)
    return path / "bin"


def site_packages(bin_dir: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(sh([bin_dir / "python", "-c", code], bin_dir).strip())


def test_the_wheel_installs_kpy_and_its_pytest_plugin(clone, tmp_path):
    """The wheel holds the kpy package, all of it, and nothing else at top level; installed in
    a fresh venv it gives the ``kpy`` command, and a user's test file using ``kafka_broker`` and
    ``kafka_topic`` (the README's example) passes with no configuration."""
    wheels = tmp_path / "wheels"
    sh([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, clone], tmp_path)
    [wheel] = wheels.glob("kpy_broker-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = f"kpy_broker-{kpy.__version__}.dist-info"
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert {name.split("/")[0] for name in names} == {"kpy", dist_info}
    # Every file of the package, data (console assets, ...) included.
    tracked = set(sh(["git", "ls-files", "kpy"], clone).split())
    assert {name for name in names if name.startswith("kpy/")} == tracked
    assert "[pytest11]\nkpy = kpy.pytest_plugin" in entry_points
    assert "[console_scripts]\nkpy = kpy.cli:main" in entry_points
    print(f"wheel {wheel.name}: {wheel.stat().st_size} bytes, {len(names)} files")

    bin_dir = venv(tmp_path / "venv")
    sh([bin_dir / "pip", "install", "-q", wheel, "pytest", "confluent-kafka"], tmp_path)
    assert sh([bin_dir / "kpy", "--version"], tmp_path).strip() == f"kpy {kpy.__version__}"
    installed = {p.name for p in site_packages(bin_dir).iterdir()}
    assert "kpy" in installed
    assert not installed & {"conformance", "tests", "bench"}

    user = tmp_path / "user"
    user.mkdir()
    (user / "test_orders.py").write_text(block(README_PLUGIN))
    out = sh([bin_dir / "python", "-m", "pytest", "-p", "no:cacheprovider"], user)
    assert "1 passed" in out, out


def test_the_readme_install_lines(clone, tmp_path):
    """``pipx install .`` in a checkout (pipx from PyPI) and ``pip install git+URL`` (the
    clean clone's URL) each give a working ``kpy``; ``pipx install kpy-broker`` waits for the
    name to be published."""
    lines = [shlex.split(line, comments=True) for line in block(README_INSTALL).splitlines()]
    assert lines[0] == ["pipx", "install", "kpy-broker"]  # not run: not on PyPI yet
    pipx_line, pip_line = lines[1:]
    assert pipx_line == ["pipx", "install", "."]
    assert pip_line[:2] == ["pip", "install"] and pip_line[2].startswith("git+https://")

    bin_dir = venv(tmp_path / "venv")
    sh([bin_dir / "pip", "install", "-q", "pipx"], tmp_path)
    pipx_env = {
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "pipx-bin"),
        "PIPX_MAN_DIR": str(tmp_path / "pipx-man"),
    }
    sh([bin_dir / pipx_line[0], *pipx_line[1:]], clone, **pipx_env)
    version = sh([tmp_path / "pipx-bin" / "kpy", "--version"], tmp_path)
    assert version.strip() == f"kpy {kpy.__version__}"

    sh([bin_dir / "pip", "install", "-q", f"git+file://{clone}"], tmp_path)
    assert sh([bin_dir / "kpy", "--version"], tmp_path).strip() == f"kpy {kpy.__version__}"
    origin = site_packages(bin_dir) / f"kpy_broker-{kpy.__version__}.dist-info/direct_url.json"
    vcs = json.loads(origin.read_text())["vcs_info"]
    head = sh(["git", "rev-parse", "HEAD"], clone).strip()
    assert vcs == {"vcs": "git", "commit_id": head}
