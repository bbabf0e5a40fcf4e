"""Video file types: extension tables, :class:`VideoError`, and telling a video's
layout (folder, container, strip) or an output type from its path."""
import os.path as osp
import re

CONTAINER_EXTENSIONS = ('.mp4', '.mov', '.avi', '.mkv', '.webm', '.gif')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')
DEFAULT_FPS = 25.0
#: output containers :class:`~cpabmm.io.VideoWriter` writes (GIF without audio)
WRITE_EXTENSIONS = ('.mp4', '.mov', '.mkv', '.gif')


class VideoError(ValueError):
    """A video (or one of its frames) cannot be used; the message names the file."""

    def __init__(self, path: str, problem: str, fix: str = '') -> None:
        self.path = path
        self.problem = problem
        message = f'{path}: {problem}'
        super().__init__(f'{message}; {fix}' if fix else message)


def natural_key(name: str) -> list:
    """Sort key that orders ``frame2.png`` before ``frame10.png``."""
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r'(\d+)', name)]


def video_layout(path: str) -> str:
    """``'folder'``, ``'container'`` or ``'strip'`` for ``path``.

    Raises:
        VideoError: if the path does not exist or has an unsupported type.
    """
    if osp.isdir(path):
        return 'folder'
    if not osp.exists(path):
        raise VideoError(path, 'no such file or folder', 'check the path')
    ext = osp.splitext(path)[1].lower()
    if ext in CONTAINER_EXTENSIONS:
        return 'container'
    if ext in IMAGE_EXTENSIONS:
        return 'strip'
    raise VideoError(
        path, f'unsupported video type {ext or "(no extension)"!r}',
        f'use a frame folder, a PNG strip or one of {", ".join(CONTAINER_EXTENSIONS)}')


def is_video_path(path: str) -> bool:
    """Whether ``path`` looks like a video in a supported layout."""
    try:
        video_layout(path)
    except VideoError:
        return False
    return True


def output_extension(path: str) -> str:
    """The lower-case extension of an output video path.

    Raises:
        VideoError: if :class:`~cpabmm.io.VideoWriter` cannot write that type.
    """
    ext = osp.splitext(path)[1].lower()
    if ext not in WRITE_EXTENSIONS:
        raise VideoError(path, f'cannot write video type {ext or "(no extension)"!r}',
                         f'use one of {", ".join(WRITE_EXTENSIONS)}')
    return ext


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
