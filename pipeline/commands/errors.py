"""Errors whose message is the whole story for a user: the CLI prints them without a traceback."""
from typing import Optional

USER_ERRORS = ("ConfigError", "SpanConflictError", "DataAnomaliesError", "InspectionError",
               "PredictionError", "MetadataError", "LineageError", "VersionError",
               "RootInUseError", "RunnerError", "ClusterError", "ArtifactError", "StartError",
               "CompileError", "WarmStartError")
# Of those, the ones about how the command was called: exit code 2, as argparse's own errors.
USAGE_ERRORS = ("ConfigError", "RunnerError", "CompileError")


def user_error(error: Optional[BaseException]) -> Optional[BaseException]:
    """The first exception in the cause chain that is one of ours."""
    while error is not None:
        if type(error).__name__ in USER_ERRORS:
            return error
        error = error.__cause__ or error.__context__
    return None


def first_cause(error: BaseException, limit: int = 600) -> str:
    """What a user can act on: one of our errors whole, else the innermost explicit cause."""
    known = user_error(error)
    if known is not None:
        return f"{type(known).__name__}: {known}"
    while error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text if len(text) <= limit else text[:limit] + ' ...'}"
