"""Keyless signatures, offline: sigstore-js (@sigstore/sign against @sigstore/mock's Fulcio and
Rekor, served on 127.0.0.1 by tests/system/keyless/sign.js) signs a modelcar pushed to a
loopback registry and @sigstore/oci attaches the bundle; modelcar-pack verifies it against the
trusted_root.json the mock's CA and log make, and refuses every bad case with nothing unpacked.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

# The unpack image's fixtures (built by scripts/build-unpack.sh and build-image.sh).
from test_unpack import unpack_bin, unpack_image  # noqa: F401

from helpers import REPO, parse_serving_output, run, sample_model_hashes, sha256_tree, unique

SIGNER = REPO / "tests" / "system" / "keyless" / "sign.js"
IDENTITY = "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def mcp(repo, dist) -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", repo / "target"))
    run(["cargo", "build", "--release", "-q", "-p", "modelcar-pack"], cwd=repo, timeout=1200,
        env={**os.environ, "MODELCAR_DIST": str(dist)})
    b = target / "release" / "modelcar-pack"
    assert b.is_file()
    return b


@pytest.fixture(scope="module")
def node_modules():
    if not (SIGNER.parent / "node_modules" / "@sigstore" / "mock").is_dir():
        pytest.fail("tests/system/keyless/node_modules is missing: run scripts/install-deps.sh")


class Signed:
    """One copy of the sample modelcar in its own repository, signed (or not) by sign.js."""

    def __init__(self, mcp: Path, registry: str, tmp: Path, *flags: str, sign: bool = True):
        self.repo = f"{registry}/{unique('keyless')}"
        self.ref = f"{self.repo}:v1"
        self.digest = run([mcp, REPO / "sample-model", "--push", self.ref, "--insecure", "-q"],
                          timeout=300).stdout.strip()
        assert self.digest.startswith("sha256:")
        self.out = tmp / unique("sig")
        if sign:
            run(["node", SIGNER, "--image", self.repo, "--digest", self.digest, "--identity", IDENTITY,
                 "--issuer", ISSUER, "--out", self.out, *flags], timeout=120)
            self.root = self.out / "trusted_root.json"

    def attach(self, bundle: dict):
        f = self.out / f"{unique('bundle')}.json"
        f.write_text(json.dumps(bundle))
        run(["node", SIGNER, "--image", self.repo, "--digest", self.digest, "--bundle", f], timeout=120)


def verify(mcp, ref, root, identity=IDENTITY, issuer=ISSUER, check=False):
    return run([mcp, "verify", "--insecure", "--certificate-identity", identity,
                "--certificate-oidc-issuer", issuer, "--trusted-root", root, ref], check=check)


def keyless_env(root, identity=IDENTITY, issuer=ISSUER) -> dict:
    return {**os.environ, "COSIGN_CERT_IDENTITY": identity, "COSIGN_CERT_OIDC_ISSUER": issuer,
            "SIGSTORE_TRUSTED_ROOT": str(root)}


def refused(r, needle: str):
    assert r.returncode != 0, r.stdout
    assert needle in r.stderr, r.stderr
    assert "refusing to unpack" in r.stderr or "keyless verification needs" in r.stderr, r.stderr
    # One error line, last (unpack logs what it starts first), and no panic.
    lines = r.stderr.strip().splitlines()
    assert needle in lines[-1] and "panicked" not in r.stderr and len(lines) <= 2, r.stderr


@pytest.fixture(scope="module")
def good(mcp, registry, node_modules, tmp_path_factory) -> Signed:
    return Signed(mcp, registry, tmp_path_factory.mktemp("keyless"))


@pytest.mark.parametrize("mode", ["dsse", "message", "cosign"])
def test_good_signature_verifies_and_unpacks(mcp, registry, node_modules, good, tmp_path, mode):
    s = good if mode == "dsse" else Signed(mcp, registry, tmp_path, f"--{mode}")
    r = verify(mcp, s.ref, s.root, check=True)
    assert r.stdout.strip() == s.digest
    assert f"keyless: {IDENTITY} from {ISSUER}" in r.stderr
    # kit-init's contract: the env vars alone, no flags.
    dest = tmp_path / "models"
    r = run([mcp, "unpack", s.ref, dest, "--insecure"], env=keyless_env(s.root))
    assert "certificate chain, its certificate transparency SCT, signature and transparency log checked" in r.stderr
    assert sha256_tree(dest) == sample_model_hashes()


def test_referrers_tag_fallback(mcp, registry, good):
    """Debian's docker-registry (Distribution 2.8) has no OCI 1.1 referrers API: it answers 404,
    so the bundle is found at the fallback tag sha256-<hex> that @sigstore/oci wrote."""
    import urllib.error
    import urllib.request

    repo = good.repo.split("/", 1)[1]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{registry}/v2/{repo}/referrers/{good.digest}", timeout=10)
    assert e.value.code == 404
    tag = good.digest.replace(":", "-")
    req = urllib.request.Request(f"http://{registry}/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": "application/vnd.oci.image.index.v1+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        index = json.load(r)
    assert [m["artifactType"] for m in index["manifests"]] == ["application/vnd.dev.sigstore.bundle.v0.3+json"]
    r = verify(mcp, good.ref, good.root, check=True)
    assert f"bundle {index['manifests'][0]['digest']}" in r.stderr


def test_wrong_identity_and_issuer(mcp, good, tmp_path):
    refused(verify(mcp, good.ref, good.root, identity=IDENTITY + "x"),
            f'certificate identity is ["{IDENTITY}"], not "{IDENTITY}x"')
    refused(verify(mcp, good.ref, good.root, identity="someone@example.com"), "not \"someone@example.com\"")
    refused(verify(mcp, good.ref, good.root, issuer="https://accounts.google.com"),
            f'certificate OIDC issuer is "{ISSUER}", not "https://accounts.google.com"')
    dest = tmp_path / "models"
    r = run([mcp, "unpack", good.ref, dest, "--insecure"],
            env=keyless_env(good.root, identity=IDENTITY + "x"), check=False)
    refused(r, "certificate identity is")
    assert not dest.exists()


def test_certificate_not_chaining_to_the_trusted_root(mcp, good, tmp_path):
    mine = json.loads(good.root.read_text())
    other = json.loads((good.out / "other_root.json").read_text())
    # The right log, another CA: only the chain can fail.
    (tmp_path / "ca.json").write_text(json.dumps({**mine, "certificateAuthorities": other["certificateAuthorities"]}))
    refused(verify(mcp, good.ref, tmp_path / "ca.json"),
            "the signing certificate does not chain to a certificate authority of the trusted root")
    # The right CA, another log: the log evidence cannot be trusted.
    (tmp_path / "log.json").write_text(json.dumps({**mine, "tlogs": other["tlogs"]}))
    refused(verify(mcp, good.ref, tmp_path / "log.json"),
            "transparency log entry is from a log the trusted root does not name")
    # A CA trusted only before the signature was made.
    old = json.loads(json.dumps(mine))
    old["certificateAuthorities"][0]["validFor"] = {"start": "2020-01-01T00:00:00Z",
                                                    "end": "2021-01-01T00:00:00Z"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    refused(verify(mcp, good.ref, tmp_path / "old.json"), "does not chain")
    dest = tmp_path / "models"
    refused(run([mcp, "unpack", good.ref, dest, "--insecure"], env=keyless_env(tmp_path / "ca.json"),
                check=False), "does not chain")
    assert not dest.exists()


def test_tampered_payload_and_other_digest(mcp, registry, node_modules, tmp_path):
    s = Signed(mcp, registry, tmp_path, "--tamper")
    refused(verify(mcp, s.ref, s.root), "signature does not verify with the certificate's key")
    other = "sha256:" + "ab" * 32
    s = Signed(mcp, registry, tmp_path, "--statement-digest", other)
    refused(verify(mcp, s.ref, s.root), f"signed statement names {other[7:]}, not {s.digest}")
    dest = tmp_path / "models"
    refused(run([mcp, "unpack", s.ref, dest, "--insecure"], env=keyless_env(s.root), check=False),
            "signed statement names")
    assert not dest.exists()


def test_transparency_log_evidence(mcp, registry, node_modules, tmp_path):
    s = Signed(mcp, registry, tmp_path, "--no-tlog")
    refused(verify(mcp, s.ref, s.root), "bundle has no transparency log entry")
    dest = tmp_path / "models"
    refused(run([mcp, "unpack", s.ref, dest, "--insecure"], env=keyless_env(s.root), check=False),
            "no transparency log entry")
    assert not dest.exists()

    # Altered evidence, each attached to a fresh copy (one good bundle would be enough to pass).
    b = json.loads((s.out / "bundle.json").read_text())
    assert b["verificationMaterial"]["tlogEntries"] == []
    good = Signed(mcp, registry, tmp_path)
    entry = json.loads((good.out / "bundle.json").read_text())["verificationMaterial"]["tlogEntries"][0]

    def variant(change) -> Signed:
        v = Signed(mcp, registry, tmp_path, sign=False)
        v.out.mkdir()
        bundle = json.loads((good.out / "bundle.json").read_text())
        e = json.loads(json.dumps(entry))
        change(e)
        bundle["verificationMaterial"]["tlogEntries"] = [e]
        v.attach(bundle)
        return v

    def flip(b64: str) -> str:
        raw = bytearray(base64.b64decode(b64))
        raw[len(raw) // 2] ^= 1
        return base64.b64encode(bytes(raw)).decode()

    def no_evidence(e):
        del e["inclusionPromise"], e["inclusionProof"]

    def bad_set(e):
        e["inclusionPromise"]["signedEntryTimestamp"] = flip(e["inclusionPromise"]["signedEntryTimestamp"])

    def bad_root(e):
        e["inclusionProof"]["rootHash"] = flip(e["inclusionProof"]["rootHash"])

    def bad_checkpoint(e):
        cp = e["inclusionProof"]["checkpoint"]["envelope"]
        head, sig = cp.rsplit(" ", 1)
        e["inclusionProof"]["checkpoint"]["envelope"] = f"{head} {flip(sig.strip())}\n"

    def other_time(e):
        e["integratedTime"] = str(int(e["integratedTime"]) + 1)

    def other_body(e):
        body = json.loads(base64.b64decode(e["canonicalizedBody"]))
        body["spec"]["proposedContent"]["verifiers"] = []
        e["canonicalizedBody"] = base64.b64encode(json.dumps(body).encode()).decode()

    cases = [
        (no_evidence, "neither a signed entry timestamp nor an inclusion proof"),
        (bad_set, "signed entry timestamp does not verify with the log's key"),
        (bad_root, "inclusion proof does not lead to its root hash"),
        (bad_checkpoint, "checkpoint: no signature by the trusted log's key"),
        (other_time, "signed entry timestamp does not verify"),
        (other_body, "signed entry timestamp does not verify"),
    ]
    for change, needle in cases:
        v = variant(change)
        refused(verify(mcp, v.ref, good.root), needle)
    # Without the SET, an altered body still breaks the inclusion proof; an intact proof
    # alone does not vouch for the entry's time, on which the certificate's validity rests.
    v = variant(lambda e: (e.pop("inclusionPromise"), other_body(e)))
    refused(verify(mcp, v.ref, good.root), "inclusion proof does not lead to its root hash")
    v = variant(lambda e: e.pop("inclusionPromise"))
    refused(verify(mcp, v.ref, good.root), "no signed entry timestamp, so its time is not vouched for")
    # The SET alone (no inclusion proof) is enough, as for cosign's layout.
    v = variant(lambda e: e.pop("inclusionProof"))
    verify(mcp, v.ref, good.root, check=True)
    # A valid entry of the same log, but for another signature.
    v = Signed(mcp, registry, tmp_path, "--swap-entry")
    refused(verify(mcp, v.ref, v.root), "transparency log entry records another signature or certificate")
    # The good entry on its own (SET and proof intact) passes: the variants test one thing each.
    v = variant(lambda e: None)
    verify(mcp, v.ref, good.root, check=True)


def test_rfc3161_timestamps(mcp, registry, node_modules, tmp_path):
    """A bundle with an RFC 3161 timestamp of @sigstore/mock's TSA: next to a Rekor entry it is
    not needed (the SET vouches for the time); alone it is refused, naming it."""
    s = Signed(mcp, registry, tmp_path, "--tsa")
    b = json.loads((s.out / "bundle.json").read_text())
    assert b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
    verify(mcp, s.ref, s.root, check=True)
    s = Signed(mcp, registry, tmp_path, "--tsa", "--no-tlog")
    needle = "bundle has no transparency log entry; its RFC 3161 timestamps (timestampVerificationData) are not verified"
    refused(verify(mcp, s.ref, s.root), needle)
    dest = tmp_path / "models"
    refused(run([mcp, "unpack", s.ref, dest, "--insecure"], env=keyless_env(s.root), check=False), needle)
    assert not dest.exists()
    # Rekor v2 (the mock's v2 API): an entry with an inclusion proof and no SET; its time
    # would come from the TSA, which is not verified, so it is refused, naming the TSA. (The
    # mock's v2 body is not Rekor's canonical one, so its proof fails first here.)
    s = Signed(mcp, registry, tmp_path, "--tsa", "--rekor-v2")
    e = json.loads((s.out / "bundle.json").read_text())["verificationMaterial"]["tlogEntries"][0]
    assert e["kindVersion"]["version"] == "0.0.2" and "inclusionPromise" not in e
    refused(verify(mcp, s.ref, s.root), "its RFC 3161 timestamps (timestampVerificationData) are not verified")


def test_cosign_layout_refusals(mcp, registry, node_modules, tmp_path):
    """cosign's .sig layout (certificate and Rekor evidence as annotations), each bad case."""
    other = "sha256:" + "cd" * 32
    cases = [
        (["--tamper"], "signature does not match the public key"),
        (["--no-tlog"], "no transparency log evidence (dev.sigstore.cosign/bundle annotation)"),
        (["--statement-digest", other], f"signed payload is for {other}"),
        (["--swap-entry"], "transparency log entry records another signature or certificate"),
    ]
    for flags, needle in cases:
        s = Signed(mcp, registry, tmp_path, "--cosign", *flags)
        refused(verify(mcp, s.ref, s.root), needle)
        dest = tmp_path / unique("models")
        refused(run([mcp, "unpack", s.ref, dest, "--insecure"], env=keyless_env(s.root), check=False), needle)
        assert not dest.exists()
    s = Signed(mcp, registry, tmp_path, "--cosign")
    refused(verify(mcp, s.ref, s.root, identity="someone@example.com"), "certificate identity is")
    mine, other_root = json.loads(s.root.read_text()), json.loads((s.out / "other_root.json").read_text())
    (tmp_path / "ca.json").write_text(json.dumps({**mine, "certificateAuthorities": other_root["certificateAuthorities"]}))
    refused(verify(mcp, s.ref, tmp_path / "ca.json"), "does not chain")


def test_certificate_transparency_sct(mcp, registry, node_modules, good, tmp_path):
    """The Fulcio certificate's embedded SCT must verify with a CT log key of the trusted root
    (the mock CA submits its precertificate to the mock CT log, as Fulcio does)."""
    mine = json.loads(good.root.read_text())
    other = json.loads((good.out / "other_root.json").read_text())
    assert mine["ctlogs"] and mine["ctlogs"][0]["logId"] != other["ctlogs"][0]["logId"]

    def root(name, ctlogs) -> Path:
        f = tmp_path / f"{name}.json"
        f.write_text(json.dumps({**mine, "ctlogs": ctlogs}))
        return f

    no_ct = root("no-ct", [])
    refused(verify(mcp, good.ref, no_ct), "the trusted root has no CT log keys (ctlogs)")
    refused(verify(mcp, good.ref, root("other-ct", other["ctlogs"])),
            "SCT is from the CT log " + base64.b64decode(mine["ctlogs"][0]["logId"]["keyId"]).hex()
            + ", which the trusted root does not name (ctlogs)")
    # The right log ID with another key.
    swapped = json.loads(json.dumps(mine["ctlogs"]))
    swapped[0]["publicKey"] = other["ctlogs"][0]["publicKey"]
    refused(verify(mcp, good.ref, root("other-key", swapped)), "SCT does not verify with the key of the CT log")
    # A log trusted only before the SCT was made.
    old = json.loads(json.dumps(mine["ctlogs"]))
    old[0]["publicKey"]["validFor"] = {"start": "2020-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z"}
    refused(verify(mcp, good.ref, root("old-ct", old)), "dated outside the log's validFor")

    # Certificates the CA signed (so the chain holds) with a bad or foreign SCT, or none.
    for mode, needle in [
        ("bad", "SCT does not verify with the key of the CT log"),
        ("other", "which the trusted root does not name (ctlogs)"),
        ("none", "the signing certificate has no embedded SCT"),
    ]:
        for layout in ([], ["--cosign"]):
            s = Signed(mcp, registry, tmp_path, "--sct", mode, *layout)
            refused(verify(mcp, s.ref, s.root), needle)
            dest = tmp_path / unique("models")
            refused(run([mcp, "unpack", s.ref, dest, "--insecure"], env=keyless_env(s.root), check=False),
                    needle)
            assert not dest.exists()
    # cosign's opt-out, as a flag and for the init image as an env var; the rest still checked.
    r = run([mcp, "verify", "--insecure", "--insecure-ignore-sct", "--certificate-identity", IDENTITY,
             "--certificate-oidc-issuer", ISSUER, "--trusted-root", s.root, s.ref])
    assert r.stdout.strip() == s.digest
    assert "SCT not checked: --insecure-ignore-sct" in r.stderr
    dest = tmp_path / "models"
    r = run([mcp, "unpack", s.ref, dest, "--insecure"],
            env={**keyless_env(s.root), "COSIGN_INSECURE_IGNORE_SCT": "true"})
    assert sha256_tree(dest) == sample_model_hashes()
    r = run([mcp, "verify", "--insecure", "--insecure-ignore-sct", "--certificate-identity", IDENTITY + "x",
             "--certificate-oidc-issuer", ISSUER, "--trusted-root", s.root, s.ref], check=False)
    refused(r, "certificate identity is")
    r = run([mcp, "verify", "--insecure", "--insecure-ignore-sct", s.ref], check=False)
    assert r.returncode != 0 and "--insecure-ignore-sct needs --certificate-identity" in r.stderr, r.stderr


def test_missing_signature_and_missing_settings(mcp, registry, node_modules, good, tmp_path):
    s = Signed(mcp, registry, tmp_path, sign=False)
    refused(verify(mcp, s.ref, good.root), f"no keyless signature for {s.digest}")
    dest = tmp_path / "models"
    env = {**os.environ, "COSIGN_CERT_IDENTITY": IDENTITY, "COSIGN_CERT_OIDC_ISSUER": ISSUER}
    env.pop("SIGSTORE_TRUSTED_ROOT", None)
    refused(run([mcp, "unpack", good.ref, dest, "--insecure"], env=env, check=False),
            "needs a trusted root file")
    env = {**os.environ, "COSIGN_CERT_IDENTITY": IDENTITY, "SIGSTORE_TRUSTED_ROOT": str(good.root)}
    env.pop("COSIGN_CERT_OIDC_ISSUER", None)
    refused(run([mcp, "unpack", good.ref, dest, "--insecure"], env=env, check=False),
            "needs both the certificate identity and the OIDC issuer")
    pem = tmp_path / "root.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    r = verify(mcp, good.ref, pem)
    assert r.returncode != 0 and "needs a sigstore trusted_root.json" in r.stderr, r.stderr
    assert not dest.exists()
    shutil.rmtree(s.out, ignore_errors=True)


def test_init_image_kit_contract_keyless(podman_env, unpack_image, serving_image, registry, mcp,
                                         node_modules, tmp_path):
    """The unpack image as kit-init: COSIGN_CERT_IDENTITY, COSIGN_CERT_OIDC_ISSUER and the
    trusted root from a mounted file; the server reads the model byte for byte. With a wrong
    identity the init container fails and the server never starts."""
    from test_unpack import play, storage_pod

    s = Signed(mcp, registry, tmp_path)
    os.chmod(s.out, 0o755)
    os.chmod(s.root, 0o644)
    mount = "/home/user/modelkit"
    trust = {"name": "trust", "hostPath": {"path": str(s.out), "type": "Directory"}}

    def pod(identity: str):
        return storage_pod(
            unique("mcb-keyless"), unpack_image, serving_image,
            {"env": [{"name": "MODELKIT_REF", "value": f"kit://{s.ref}"},
                     {"name": "UNPACK_PATH", "value": mount},
                     {"name": "COSIGN_CERT_IDENTITY", "value": identity},
                     {"name": "COSIGN_CERT_OIDC_ISSUER", "value": ISSUER},
                     {"name": "SIGSTORE_TRUSTED_ROOT", "value": "/trust/trusted_root.json"},
                     {"name": "KIT_UNPACK_FLAGS", "value": "--plain-http"}],
             "extraMounts": [{"name": "trust", "mountPath": "/trust", "readOnly": True}]},
            mount, extra_volumes=[trust],
        )

    played, log, init_log = play(podman_env, pod(IDENTITY))
    assert played.returncode == 0, played.stderr
    res = parse_serving_output(log)
    assert res["ok"] and res["files"] == sample_model_hashes(), log + init_log
    # (podman removes a successful init container, so its log is gone by now.)

    played, log, init_log = play(podman_env, pod("someone@example.com"))
    assert log == "", f"the server ran although the init container should fail: {log}"
    assert 'not "someone@example.com"' in played.stderr + init_log, played.stderr + init_log
