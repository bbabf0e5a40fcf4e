"""The error raised when a metric cannot run on this machine."""


class MetricUnavailableError(RuntimeError):
    """A metric's package or weight file is missing.

    The message is one line naming what is missing and how to get it.
    ``tools/test.py`` catches it to list a default metric as skipped; a
    metric that a config asks for explicitly lets it propagate, so the run
    stops before any frame is animated.
    """
