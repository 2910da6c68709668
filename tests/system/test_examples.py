"""isvc-examples/ against KServe's real CRD and ConfigMap, and the two cluster scripts.

There is no Kubernetes cluster in the test environment. The InferenceServices are
checked against the CRD's openAPIV3Schema (scripts/validate-isvc.py, strict like
`kubectl apply`), the ConfigMap patches against KServe's inferenceservice-config.
Where a script talks to a cluster, a stub `kubectl` on PATH stands in for it and
answers like kubectl does (same messages, same exit status); the stubs are
marked as such below.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "isvc-examples"
KSERVE = ROOT / "tests/data/kserve"
CONFIG = KSERVE / "inferenceservice-config.yaml"
VALIDATE = ROOT / "scripts/validate-isvc.py"
ENABLE = ROOT / "scripts/enable-modelcar.sh"
RETRY = ROOT / "scripts/kubectl-apply-retry.sh"
VENV_BIN = ROOT / ".venv/bin"


def load_all(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def isvc_files():
    return sorted(p for p in EXAMPLES.glob("*.yaml") if load_all(p)[0].get("kind") == "InferenceService")


def patch_files():
    return sorted(EXAMPLES.glob("inferenceservice-config-patch*.yaml"))


def run(cmd, env=None, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60, env=env, **kw)


def validate(*paths):
    return run([sys.executable, VALIDATE, *paths])


def storage_uris(doc):
    pred = doc["spec"]["predictor"]
    uris = [pred["model"]["storageUri"]] if "storageUri" in pred.get("model", {}) else []
    return uris + [s["uri"] for s in pred.get("storageUris", [])]


# --- the examples ------------------------------------------------------------


def test_every_example_starts_with_a_comment():
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 7
    for path in files:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# ") and len(first) > 20, f"{path.name} must start with a comment saying what it shows"


def test_examples_cover_every_oci_form():
    docs = {p.name: load_all(p)[0] for p in isvc_files()}
    forms = set()
    for doc in docs.values():
        pred = doc["spec"]["predictor"]
        fmt = pred["model"]["modelFormat"]["name"]
        for uri in storage_uris(doc):
            scheme = uri.split("://", 1)[0]
            forms.add((scheme, fmt))
        for s in pred.get("storageUris", []):
            if s.get("mountPath", "/mnt/models") != "/mnt/models":
                forms.add(("custom-path", s["uri"].split("://", 1)[0]))
    assert ("oci", "sklearn") in forms
    assert ("oci", "huggingface") in forms
    assert ("oci+fetch", "sklearn") in forms
    assert ("oci+native", "sklearn") in forms
    assert ("custom-path", "oci") in forms
    names = [d["metadata"]["name"] for d in docs.values()]
    assert len(names) == len(set(names)), "two examples share a name"


def test_every_example_validates_against_the_crd():
    files = isvc_files()
    assert len(files) >= 5
    res = validate(*files)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": ok (") == len(files), res.stdout


BROKEN = [
    # (what is changed, mutation, field path in the message, message part)
    ("typo in a field name", lambda d: d["spec"]["predictor"]["model"].update(storageURI=d["spec"]["predictor"]["model"].pop("storageUri")),
     "spec.predictor.model.storageURI", "unknown field"),
    ("wrong type", lambda d: d["spec"]["predictor"].update(minReplicas="two"),
     "spec.predictor.minReplicas", "is not of type 'integer'"),
    ("missing required field", lambda d: d["spec"]["predictor"]["model"]["modelFormat"].pop("name"),
     "spec.predictor.model.modelFormat", "'name' is a required property"),
    ("pattern in a list item", lambda d: d["spec"]["predictor"].update(storageUris=[{"uri": "oci://r/i:t", "mountPath": "relative/path"}]),
     "spec.predictor.storageUris[0].mountPath", "does not match"),
    ("unknown field in a nested list", lambda d: d["spec"]["predictor"]["model"].update(env=[{"name": "A", "valeu": "1"}]),
     "spec.predictor.model.env[0].valeu", "unknown field"),
    ("name KServe refuses", lambda d: d["metadata"].update(name="Sklearn_Iris"),
     "metadata.name", "DNS-1035"),
    ("wrong apiVersion", lambda d: d.update(apiVersion="serving.kserve.io/v1alpha1"),
     "apiVersion", "must be serving.kserve.io/v1beta1"),
]


@pytest.mark.parametrize("what,mutate,path,part", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_copy_fails_naming_the_field_path(tmp_path, what, mutate, path, part):
    doc = load_all(EXAMPLES / "sklearn-oci.yaml")[0]
    mutate(doc)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc))
    res = validate(broken)
    assert res.returncode == 1, f"{what}: accepted:\n{res.stdout}{res.stderr}"
    lines = [line for line in res.stderr.splitlines() if line.startswith(f"{broken}: {path}: ")]
    assert lines, f"{what}: no error at {path}:\n{res.stderr}"
    assert part in lines[0], lines[0]


def test_validator_reports_unreadable_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed\n")
    res = validate(bad, tmp_path / "missing.yaml")
    assert res.returncode == 1
    assert f"{bad}: cannot read" in res.stderr and "missing.yaml: cannot read" in res.stderr


# --- the ConfigMap patches ---------------------------------------------------


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch, what `kubectl patch --type merge` applies."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def reference_config():
    return yaml.safe_load(CONFIG.read_text())


@pytest.mark.parametrize("uid", [None, 1010], ids=["without-uid", "with-uid"])
def test_config_patch_keeps_storage_initializer_valid(uid):
    name = "inferenceservice-config-patch-uid.yaml" if uid else "inferenceservice-config-patch.yaml"
    assert EXAMPLES / name in patch_files()
    patch = yaml.safe_load((EXAMPLES / name).read_text())
    assert list(patch) == ["data"] and list(patch["data"]) == ["storageInitializer"], "the patch must touch storageInitializer only"
    before = reference_config()
    after = merge_patch(before, patch)
    # Every other ConfigMap entry is byte for byte what it was.
    assert {k: v for k, v in after["data"].items() if k != "storageInitializer"} == {
        k: v for k, v in before["data"].items() if k != "storageInitializer"
    }
    assert after["metadata"] == before["metadata"]
    old = json.loads(before["data"]["storageInitializer"])
    new = json.loads(after["data"]["storageInitializer"])  # valid JSON, or this raises
    expected = dict(old, enableModelcar=True)
    expected.pop("uidModelcar", None)
    if uid is not None:
        expected["uidModelcar"] = uid
    assert new == expected
    assert isinstance(new["enableModelcar"], bool)
    # The script produces the same value from the same ConfigMap.
    res = run([ENABLE, "--from-file", CONFIG, *(["--uid", str(uid)] if uid else ["--no-uid"])], env=venv_env())
    assert res.returncode == 0, res.stderr
    assert json.loads(json.loads(res.stdout)["data"]["storageInitializer"]) == new


# --- scripts/enable-modelcar.sh ----------------------------------------------


def venv_env(extra_path=None):
    env = dict(os.environ)
    # python3 with PyYAML (the venv's) reads the YAML ConfigMap.
    env["PATH"] = os.pathsep.join(p for p in [extra_path, str(VENV_BIN), env.get("PATH", "")] if p)
    return env


def enable(*args, env=None):
    return run([ENABLE, *args], env=env or venv_env())


def storage_initializer(stdout):
    cm = json.loads(stdout)
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "inferenceservice-config"
    return cm, json.loads(cm["data"]["storageInitializer"])


@pytest.mark.parametrize(
    "args,want_uid,want_mode",
    [([], 1010, None), (["--uid", "0"], 0, None), (["--uid", "1000"], 1000, None), (["--no-uid"], None, None),
     (["--mode", "fetch", "--uid", "2000"], 2000, "fetch")],
    ids=["keep-uid", "uid-0", "uid-1000", "no-uid", "mode-fetch"],
)
def test_enable_script_patches_a_configmap_file(tmp_path, args, want_uid, want_mode):
    # Start from modelcars switched OFF, so the switch is really flipped.
    cm = reference_config()
    si = json.loads(cm["data"]["storageInitializer"])
    si["enableModelcar"] = False
    cm["data"]["storageInitializer"] = json.dumps(si, indent=4)
    src = tmp_path / "cm.yaml"
    src.write_text(yaml.safe_dump(cm))
    res = enable("--from-file", src, *args)
    assert res.returncode == 0, res.stderr
    out, new = storage_initializer(res.stdout)
    assert new["enableModelcar"] is True
    assert new.get("uidModelcar") == want_uid
    if want_mode:
        assert new["ociModelMode"] == want_mode and new["enableOciModelSupport"] is True
    untouched = {k: v for k, v in si.items() if k not in ("enableModelcar", "uidModelcar", "ociModelMode", "enableOciModelSupport")}
    assert {k: new[k] for k in untouched} == untouched
    assert {k: v for k, v in out["data"].items() if k != "storageInitializer"} == {
        k: v for k, v in cm["data"].items() if k != "storageInitializer"
    }


def test_enable_script_reads_json_input_too(tmp_path):
    src = tmp_path / "cm.json"
    src.write_text(json.dumps(reference_config()))
    res = run([ENABLE, "--from-file", src, "--uid", "7"])  # no PyYAML needed for JSON
    assert res.returncode == 0, res.stderr
    assert storage_initializer(res.stdout)[1]["uidModelcar"] == 7


@pytest.mark.parametrize(
    "args,content,message",
    [
        (["--uid", "-1"], None, "--uid must be a non-negative integer"),
        (["--uid", "99999999999"], None, "--uid must be a non-negative integer"),
        (["--uid", "5", "--no-uid"], None, "exclude each other"),
        (["--mode", "sidecar"], None, "--mode must be modelcar, native or fetch"),
        (["--frobnicate"], None, "unknown argument '--frobnicate'"),
        ([], {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}, "data": {}}, "expected ConfigMap inferenceservice-config"),
        ([], {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config"}, "data": {"x": "1"}}, "has no data.storageInitializer"),
        ([], {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config"}, "data": {"storageInitializer": "{not json"}}, "is not a JSON object"),
        ([], "just a string", "not a Kubernetes object"),
    ],
    ids=["negative-uid", "huge-uid", "uid-and-no-uid", "bad-mode", "unknown-option", "other-configmap", "no-storageInitializer", "broken-json", "not-an-object"],
)
def test_enable_script_refuses_bad_input(tmp_path, args, content, message):
    src = tmp_path / "cm.yaml"
    src.write_text(yaml.safe_dump(content if content is not None else reference_config()))
    res = enable("--from-file", src, *args)
    assert res.returncode != 0
    assert message in res.stderr, res.stderr
    assert res.stdout == ""


def write_stub(dir_, body):
    """A stub `kubectl` (a stand-in, NOT the real kubectl: there is no cluster here)
    that logs its arguments, one call per line, to $STUB_LOG."""
    stub = dir_ / "kubectl"
    stub.write_text("#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >>\"$STUB_LOG\"\n" + textwrap.dedent(body))
    stub.chmod(0o755)
    return stub


def test_enable_script_refuses_a_cluster_without_the_configmap(tmp_path):
    # The stub answers `get configmap` exactly as kubectl does when KServe is not
    # installed: the API server's NotFound on stderr, exit status 1.
    write_stub(tmp_path, """\
        if [ "$1" = get ]; then
          echo 'Error from server (NotFound): configmaps "inferenceservice-config" not found' >&2
          exit 1
        fi
        exit 0
        """)
    env = venv_env(str(tmp_path))
    env["STUB_LOG"] = str(tmp_path / "calls.log")
    res = enable("--uid", "1010", env=env)
    assert res.returncode == 1
    assert "ConfigMap inferenceservice-config not found in namespace 'kserve'" in res.stderr
    assert "Nothing was changed" in res.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == ["get configmap inferenceservice-config -n kserve -o json"], calls


def test_enable_script_patches_only_storage_initializer_on_a_cluster(tmp_path):
    # Stub cluster holding KServe's ConfigMap: `get` prints it as JSON (as kubectl
    # -o json does), `patch` records its arguments.
    (tmp_path / "cm.json").write_text(json.dumps(reference_config()))
    write_stub(tmp_path, f"""\
        case "$1" in
          get) cat {tmp_path / 'cm.json'} ;;
          patch) echo 'configmap/inferenceservice-config patched' ;;
          *) exit 1 ;;
        esac
        """)
    env = venv_env(str(tmp_path))
    env["STUB_LOG"] = str(tmp_path / "calls.log")
    res = enable("-n", "kserve-system", "--uid", "1234", env=env)
    assert res.returncode == 0, res.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0] == "get configmap inferenceservice-config -n kserve-system -o json"
    assert len(calls) == 2 and calls[1].startswith("patch configmap inferenceservice-config -n kserve-system --type merge -p ")
    payload = json.loads(calls[1].split(" -p ", 1)[1])
    assert list(payload) == ["data"] and list(payload["data"]) == ["storageInitializer"]
    new = json.loads(payload["data"]["storageInitializer"])
    old = json.loads(reference_config()["data"]["storageInitializer"])
    assert new == dict(old, enableModelcar=True, uidModelcar=1234)


def test_enable_script_dry_run_on_a_cluster_changes_nothing(tmp_path):
    # Stub cluster as above; --dry-run must read (get) and never write (patch/apply/edit).
    (tmp_path / "cm.json").write_text(json.dumps(reference_config()))
    write_stub(tmp_path, f"""\
        case " $* " in
          *" get "*) cat {tmp_path / 'cm.json'} ;;
          *) echo "stub: unexpected kubectl $*" >&2; exit 1 ;;
        esac
        """)
    env = venv_env(str(tmp_path))
    env["STUB_LOG"] = str(tmp_path / "calls.log")
    res = enable("--dry-run", "--context", "prod", "--uid", "42", env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "calls.log").read_text().splitlines() == [
        "--context prod get configmap inferenceservice-config -n kserve -o json"
    ]
    assert storage_initializer(res.stdout)[1]["uidModelcar"] == 42


# --- scripts/kubectl-apply-retry.sh ------------------------------------------


def retry_stub(tmp_path, fail_times, message):
    # Stub kubectl: fails `apply` the first FAIL_TIMES calls with MESSAGE (kubectl's
    # own wording for that situation), then succeeds.
    (tmp_path / "count").write_text("0")
    write_stub(tmp_path, f"""\
        n=$(( $(cat {tmp_path / 'count'}) + 1 )); echo "$n" >{tmp_path / 'count'}
        if [ "$n" -le {fail_times} ]; then echo '{message}' >&2; exit 1; fi
        echo 'inferenceservice.serving.kserve.io/sklearn-iris-oci created'
        """)
    env = dict(os.environ, PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}", STUB_LOG=str(tmp_path / "calls.log"))
    return env


NO_CRD = 'error: resource mapping not found for name: "sklearn-iris-oci" namespace: "" from "x.yaml": no matches for kind "InferenceService" in version "serving.kserve.io/v1beta1"\nensure CRDs are installed first'
NO_WEBHOOK = 'Error from server (InternalError): error when creating "x.yaml": Internal error occurred: failed calling webhook "inferenceservice.kserve-webhook-server.defaulter": no endpoints available for service "kserve-webhook-server-service"'
INVALID = 'The InferenceService "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters'


@pytest.mark.parametrize("message", [NO_CRD, NO_WEBHOOK], ids=["crd-not-yet-served", "webhook-not-ready"])
def test_apply_retry_waits_for_the_cluster_to_settle(tmp_path, message):
    env = retry_stub(tmp_path, 2, message)
    res = run([RETRY, "--attempts", "5", "--delay", "0.1", "--", "-f", EXAMPLES / "sklearn-oci.yaml"], env=env)
    assert res.returncode == 0, res.stderr
    assert "created" in res.stdout
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == [f"apply -f {EXAMPLES / 'sklearn-oci.yaml'}"] * 3
    assert res.stderr.count("retrying in 0.1s") == 2


def test_apply_retry_does_not_retry_a_permanent_error(tmp_path):
    env = retry_stub(tmp_path, 99, INVALID)
    res = run([RETRY, "--attempts", "5", "--delay", "0.1", "-f", "x.yaml"], env=env)
    assert res.returncode == 1
    assert "permanent error" in res.stderr and "is invalid" in res.stderr
    assert len((tmp_path / "calls.log").read_text().splitlines()) == 1


def test_apply_retry_gives_up_after_the_attempts(tmp_path):
    env = retry_stub(tmp_path, 99, NO_CRD)
    res = run([RETRY, "--attempts", "3", "--delay", "0", "-f", "x.yaml"], env=env)
    assert res.returncode == 1
    assert "giving up after 3 attempts" in res.stderr
    assert len((tmp_path / "calls.log").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    "args,message",
    [(["--attempts", "0", "-f", "x"], "--attempts must be"), (["--delay", "soon", "-f", "x"], "--delay must be"), ([], "nothing to apply")],
    ids=["zero-attempts", "bad-delay", "no-args"],
)
def test_apply_retry_refuses_bad_arguments(args, message):
    res = run([RETRY, *args])
    assert res.returncode == 2 and message in res.stderr


@pytest.mark.parametrize("script", [ENABLE, RETRY, VALIDATE])
def test_scripts_have_help(script):
    res = run([sys.executable, script, "--help"] if script.suffix == ".py" else [script, "--help"])
    assert res.returncode == 0 and "sage" in res.stdout


# --- README.md, its KServe section --------------------------------------------


def test_kserve_doc_names_only_files_that_exist_and_lists_every_example():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Using modelcar-base with KServe")
    doc = readme[start : readme.index("\n## ", start + 1)]
    named = set(re.findall(r"\b((?:scripts|isvc-examples|tests/system|\.github/workflows)/[\w./-]+\.(?:sh|py|yaml|yml))", doc))
    assert named, "the README's KServe section names no files"
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"the README's KServe section names missing files: {missing}"
    for path in EXAMPLES.glob("*.yaml"):
        if not path.name.startswith("inferenceservice-config-patch"):
            assert f"`{path.name}`" in doc, f"{path.name} is not in the table of the README's KServe section"
