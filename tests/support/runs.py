"""What a test asks of a finished in-process run: the text of its failure."""

import dagster as dg


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The error text of the run's first failed step."""
    failures = result.get_step_failure_events()
    assert failures, "the run was expected to fail"
    error, messages = failures[0].step_failure_data.error, []
    while error is not None:  # the messages of the error and its causes, not the stack
        messages.append(error.message.strip())
        error = error.cause
    return " <- ".join(messages)
