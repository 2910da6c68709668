#!/usr/bin/env python3
"""Validate InferenceService manifests against the CRD's openAPIV3Schema.

Like `kubectl apply` with strict field validation (kubectl's default since 1.27),
an unknown field is an error, and each error names the path of the offending
field, e.g. `spec.predictor.model.storageURI`. Also checks what KServe's
webhook checks on every InferenceService: apiVersion/kind and the name rule.
Needs PyYAML and jsonschema (both in the project's .venv).
"""

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CRD = ROOT / "tests/data/kserve/serving.kserve.io_inferenceservices.yaml"
API_VERSION = "serving.kserve.io/v1beta1"
# KServe rejects names that are not DNS-1035 labels (they become Service names).
NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def strict(schema):
    """Copy of an openAPIV3Schema in which objects with declared properties reject
    unknown fields, as the API server's strict field validation does."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def load_schema(crd_path):
    # The CRD is 2 MB: libyaml's safe loader reads it five times faster than the pure-Python one
    # (the same result), when PyYAML has it.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(Path(crd_path).read_text(), Loader=loader)
    for version in crd["spec"]["versions"]:
        if f"{crd['spec']['group']}/{version['name']}" == API_VERSION:
            return strict(version["schema"]["openAPIV3Schema"])
    raise SystemExit(f"validate-isvc: {crd_path} has no {API_VERSION} schema")


def field_path(parts):
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def errors_of(doc, validator):
    """Yield (path, message) for every problem of one document."""
    if not isinstance(doc, dict):
        yield "(root)", "not a mapping"
        return
    if doc.get("apiVersion") != API_VERSION:
        yield "apiVersion", f"must be {API_VERSION}, got {doc.get('apiVersion')!r}"
    if doc.get("kind") != "InferenceService":
        yield "kind", f"must be InferenceService, got {doc.get('kind')!r}"
    name = (doc.get("metadata") or {}).get("name")
    if not isinstance(name, str) or len(name) > 63 or not NAME_RE.match(name):
        yield "metadata.name", f"{name!r} is not a DNS-1035 label (a-z, 0-9, '-', at most 63)"
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        parts = list(err.absolute_path)
        if err.validator == "additionalProperties":
            # Name the unknown field itself, not only its parent object.
            known = err.schema.get("properties", {})
            for extra in sorted(k for k in err.instance if k not in known):
                yield field_path(parts + [extra]), "unknown field"
            continue
        yield field_path(parts), err.message


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifests", nargs="+", help="YAML files (one or more documents each)")
    parser.add_argument("--crd", default=str(DEFAULT_CRD), help="InferenceService CRD YAML (default: %(default)s)")
    args = parser.parse_args()

    validator = jsonschema.Draft7Validator(load_schema(args.crd))
    failed = 0
    for path in args.manifests:
        try:
            docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]
        except (OSError, yaml.YAMLError) as exc:
            print(f"{path}: cannot read: {exc}", file=sys.stderr)
            failed += 1
            continue
        if not docs:
            print(f"{path}: no YAML document", file=sys.stderr)
            failed += 1
        for i, doc in enumerate(docs):
            label = path if len(docs) == 1 else f"{path}[{i}]"
            problems = list(errors_of(doc, validator))
            for where, message in problems:
                print(f"{label}: {where}: {message}", file=sys.stderr)
            if problems:
                failed += 1
            else:
                print(f"{label}: ok ({doc['metadata']['name']})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
