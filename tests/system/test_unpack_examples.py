"""isvc-examples/unpack-*.yaml: each ClusterStorageContainer validates against KServe's CRD
(strict, as scripts/validate-isvc.py validates InferenceServices), follows KServe's
storage-initializer contract, and its InferenceService validates and uses its prefix."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CSC_CRD = ROOT / "tests/data/kserve/serving.kserve.io_clusterstoragecontainers.yaml"
FILES = sorted((ROOT / "isvc-examples").glob("unpack-*-storage-container.yaml"))

_spec = importlib.util.spec_from_file_location("validate_isvc", ROOT / "scripts/validate-isvc.py")
validate_isvc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(validate_isvc)


def csc_validator():
    crd = yaml.safe_load(CSC_CRD.read_text())
    (v,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return jsonschema.Draft7Validator(validate_isvc.strict(v["schema"]["openAPIV3Schema"]))


def test_there_is_one_for_kit_and_one_for_oci():
    assert [f.name for f in FILES] == ["unpack-kit-storage-container.yaml",
                                       "unpack-oci-storage-container.yaml"]


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_storage_container_and_its_inference_service(path):
    csc, isvc = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert csc["apiVersion"] == "serving.kserve.io/v1alpha1" and csc["kind"] == "ClusterStorageContainer"
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in csc_validator().iter_errors(csc)]
    assert not errors, errors
    c = csc["spec"]["container"]
    # KServe's contract: this name, no args of our own (KServe sets [SRC_URI, DEST_PATH]).
    assert c["name"] == "storage-initializer" and "args" not in c and "command" not in c
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    prefixes = [f["prefix"] for f in csc["spec"]["supportedUriFormats"]]
    assert isvc["spec"]["predictor"]["model"]["storageUri"].startswith(tuple(prefixes))
    # The InferenceService half, with the project's own validator.
    res = subprocess.run([sys.executable, ROOT / "scripts/validate-isvc.py", "/dev/stdin"],
                         input=yaml.safe_dump(isvc), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_a_typo_in_the_storage_container_is_caught():
    csc = [d for d in yaml.safe_load_all(FILES[0].read_text()) if d][0]
    csc["spec"]["supportedUriFormat"] = csc["spec"].pop("supportedUriFormats")
    msgs = [e.message for e in csc_validator().iter_errors(csc)]
    assert any("supportedUriFormats" in m for m in msgs), msgs
    assert any("supportedUriFormat'" in m for m in msgs), msgs
