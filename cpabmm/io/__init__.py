"""Streaming video reading and writing, with audio passthrough."""
from .audio import AudioCopy, has_audio
from .formats import (CONTAINER_EXTENSIONS, DEFAULT_FPS, IMAGE_EXTENSIONS, WRITE_EXTENSIONS,
                      VideoError, is_video_path, natural_key, output_extension, video_layout)
from .images import check_mode, image_header, pil_to_rgb, read_image, to_unit_float
from .reading import (CHECK_LEVELS, ContainerSource, FolderSource, StripSource, VideoSource,
                      check_video, open_video)
from .writing import VideoWriter, write_video, write_videos

__all__ = [
    'AudioCopy', 'CHECK_LEVELS', 'CONTAINER_EXTENSIONS', 'ContainerSource', 'DEFAULT_FPS',
    'FolderSource', 'IMAGE_EXTENSIONS', 'StripSource', 'VideoError', 'VideoSource',
    'VideoWriter', 'WRITE_EXTENSIONS', 'check_mode', 'check_video', 'has_audio',
    'image_header', 'is_video_path', 'natural_key', 'open_video', 'output_extension',
    'pil_to_rgb', 'read_image', 'to_unit_float', 'video_layout', 'write_video', 'write_videos'
]
