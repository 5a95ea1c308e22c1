"""What a local stack's log says went wrong: the e2e session, the soak and the backlog run all check it."""

from __future__ import annotations

TRACEBACK = "Traceback (most recent call last)"


def faults_in_log(text: str) -> list[str]:
    """Every traceback in a stack's log with the line that introduced it: a function that raised, the gateway's
    502, a poller that could not receive, or a 500 of moto's, which botocore retries quietly but which waitress
    logs as "Exception while serving ..." with its traceback."""
    lines = text.splitlines()
    return [
        "\n".join(lines[max(0, number - 1) : number + 12]) for number, line in enumerate(lines) if TRACEBACK in line
    ]
