"""What every command-line tool's ``main`` shares."""
import functools
import sys
from typing import Callable, List, Optional, Tuple, Type

from .run_state import fresh_run_state
from .runtime import setup_runtime
from .signals import interrupted_status, terminate_as_interrupt

ToolMain = Callable[[Optional[List[str]]], int]


def tool_main(on_interrupt: str, usage_errors: Tuple[Type[BaseException], ...] = ()
              ) -> Callable[[ToolMain], ToolMain]:
    """Decorate a tool's ``main(argv) -> int``: MMEngine is set up
    (:func:`setup_runtime`), the run gets its own MMEngine state
    (:func:`fresh_run_state`), SIGTERM and SIGHUP are handled like
    Ctrl-C (:func:`terminate_as_interrupt`), and an interruption ends with
    ``interrupted; <on_interrupt>`` on stderr and the shell's status (130 for
    Ctrl-C, 143 for SIGTERM) once every cleanup has run. An error of
    ``usage_errors`` (bad arguments or config) that ``main`` lets through
    ends with ``error: <message>`` and status 2."""
    def decorate(main: ToolMain) -> ToolMain:
        @functools.wraps(main)
        def wrapper(argv: Optional[List[str]] = None) -> int:
            setup_runtime()
            with fresh_run_state(), terminate_as_interrupt():
                try:
                    return main(argv)
                except usage_errors as error:
                    print(f'error: {error}', file=sys.stderr)
                    return 2
                except KeyboardInterrupt as error:
                    print(f'interrupted; {on_interrupt}', file=sys.stderr)
                    return interrupted_status(error)
        return wrapper
    return decorate
