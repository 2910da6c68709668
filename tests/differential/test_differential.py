"""The three-way differential in the test suite (see differential.py): the corpus of minimised
reproducers replayed, then a bounded number of generated scripts. Fails on any script where
ours differs from both busybox and dash, refuses what both run, or does not finish.

DIFFERENTIAL_COUNT (default 1200) and DIFFERENTIAL_SEED (default: a fixed one, so CI is
reproducible; scripts/differential.sh runs other seeds by hand) choose the generated scripts.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import differential  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.environ.get("DIFFERENTIAL_BINARY",
                        os.path.join(differential.ROOT, "dist/amd64/modelcar-base"))

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chroot)"),
    pytest.mark.skipif(not os.path.exists(BINARY), reason="run scripts/build-sidecar.sh first"),
]


def failures(cases, jobs):
    bad, counts = [], {}
    for case, cls, results in differential.run_all(cases, BINARY, jobs):
        counts[cls] = counts.get(cls, 0) + 1
        if cls in differential.FAILING or cls not in case.get("expect", [cls]):
            bad.append(differential.describe(case, cls, results))
    print(counts)
    return bad


def test_corpus_of_reproducers():
    cases = list(differential.load_corpus(os.path.join(HERE, "corpus.jsonl")))
    assert len(cases) > 10
    bad = failures(cases, 1)
    assert not bad, "\n".join(bad)


def test_generated_scripts():
    count = int(os.environ.get("DIFFERENTIAL_COUNT", "1200"))
    seed = int(os.environ.get("DIFFERENTIAL_SEED", "20261206"))
    bad = failures(differential.cases_from(seed, count), 2)
    assert not bad, f"{len(bad)} of {count} scripts fail:\n" + "\n".join(bad[:20])
