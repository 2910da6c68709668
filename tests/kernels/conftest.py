"""The kernels suite prints what each boot ran on (kernel version, counts, time), pass or fail."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "system"))
import helpers  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if helpers.REPORT:
        terminalreporter.section("modelcar-base on each architecture's kernel")
        for line in helpers.REPORT:
            terminalreporter.write_line(line)
