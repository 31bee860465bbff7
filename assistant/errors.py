"""Errors with one-line messages meant for users. The CLI maps them to exit codes."""


class AssistantError(Exception):
    """Base class: the message is shown to the user as one line."""

    exit_code = 1


class UserInputError(AssistantError):
    """Bad input or usage (exit code 2)."""

    exit_code = 2


class IndexError_(AssistantError):
    """The index is missing, unreadable, corrupt or built with other settings (exit code 2)."""

    exit_code = 2


class ClusterError(AssistantError):
    """A Ray cluster to embed with does not answer, or refuses to connect (exit code 2)."""

    exit_code = 2
