"""Errors of the model zoo: one line each, naming the problem and the fix."""


class DownloadError(RuntimeError):
    """A transfer failed (network error, HTTP error, truncated transfer);
    nothing was kept."""


class ChecksumError(DownloadError):
    """A file's SHA-256 is not the expected one; it was not kept."""
