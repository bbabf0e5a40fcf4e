"""Audio passthrough: finding a video's audio and copying it into a written video."""
import os.path as osp

from .formats import CONTAINER_EXTENSIONS, VideoError, _first_line

#: audio codecs mp4/mov files carry as they are; other audio is re-encoded to AAC
_MP4_AUDIO_CODECS = ('aac', 'mp3', 'alac', 'ac3')


def has_audio(path: str) -> bool:
    """Whether ``path`` is a container file with an audio stream."""
    if osp.isdir(path) or osp.splitext(path)[1].lower() not in CONTAINER_EXTENSIONS:
        return False
    import av
    try:
        with av.open(path) as container:
            return bool(container.streams.audio)
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return False


class AudioCopy:
    """Copy the first audio stream of ``path`` into an output container while
    its video is being written, packet by packet.

    Audio an mp4/mov can hold (and anything, into mkv) is remuxed untouched;
    other audio is decoded and re-encoded to AAC. Call :meth:`copy_until`
    after each video frame so that the muxer interleaves the two streams,
    and :meth:`finish` after the last one.
    """

    def __init__(self, path: str, output, extension: str) -> None:
        import av
        self.path = path
        self._output = output
        self._input = av.open(path)
        source = self._input.streams.audio[0]
        self._resampler = None
        if extension == '.mkv' or source.codec_context.name in _MP4_AUDIO_CODECS:
            self._stream = output.add_stream_from_template(source)
        else:
            layout = 'mono' if len(source.layout.channels) == 1 else 'stereo'
            self._stream = output.add_stream('aac', rate=source.rate, layout=layout)
            self._resampler = av.AudioResampler(format=self._stream.format.name,
                                                layout=layout, rate=source.rate,
                                                frame_size=1024)
        self._packets = self._input.demux(source)

    @property
    def reencodes(self) -> bool:
        """Whether the audio is re-encoded (True) or remuxed (False)."""
        return self._resampler is not None

    def copy_until(self, seconds: float) -> None:
        """Copy packets up to the first one that starts at ``seconds`` or later."""
        import av
        try:
            for packet in self._packets:
                if packet.dts is None:  # the demuxer's final empty packet
                    continue
                self._copy(packet)
                if packet.pts is not None and packet.pts * packet.time_base >= seconds:
                    return
        except av.FFmpegError as err:
            raise VideoError(self.path, f'its audio cannot be copied ({_first_line(err)})',
                             're-encode its audio or remove it') from None

    def _mux(self, packet) -> None:
        """Write one packet to the output; a failure of the output (a full
        disk) comes out as a plain ``OSError``, not blamed on the audio."""
        try:
            self._output.mux(packet)
        except OSError as err:  # PyAV's are FFmpegErrors too, which copy_until reports
            raise OSError(err.errno, err.strerror, err.filename) from err

    def _copy(self, packet) -> None:
        if self._resampler is None:
            packet.stream = self._stream
            self._mux(packet)
            return
        for frame in packet.decode():
            self._encode(frame)

    def _encode(self, frame) -> None:
        for resampled in self._resampler.resample(frame):
            for packet in self._stream.encode(resampled):
                self._mux(packet)

    def finish(self) -> None:
        """Copy the remaining audio and flush the encoder."""
        self.copy_until(float('inf'))
        if self._resampler is not None:
            self._encode(None)
            for packet in self._stream.encode(None):
                self._mux(packet)
        self.close()

    def close(self) -> None:
        self._input.close()
