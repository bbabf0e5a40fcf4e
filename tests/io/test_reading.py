"""The streaming video reader on real media in every layout, and bad input."""
import os.path as osp
import random

import numpy as np
import pytest
from PIL import Image

from cpabmm.io import VideoError, check_video, open_video
from tests.datasets.media import (LAYOUT_WRITERS, astronaut_clip, carphone, carphone_path,
                                  make_video, write_folder, write_strip, write_truncated_mp4)

# Mean absolute error (0-255) each layout may add: the codecs are lossy except png.
LAYOUT_TOLERANCE = {'mp4': 1.0, 'mov': 6.0, 'gif': 12.0, 'png-strip': 0.0, 'folder': 0.0}


def test_reads_carphone_with_metadata():
    video = open_video(carphone_path())
    assert video.layout == 'container'
    assert video.fps == pytest.approx(30000 / 1001)  # before anything else is read
    assert video.num_frames == 120 and len(video) == 120
    assert video.frame_size == (144, 176)
    assert video.fps == pytest.approx(30000 / 1001)
    frames = list(video)
    assert len(frames) == 120
    assert frames[0].shape == (144, 176, 3) and frames[0].dtype == np.uint8
    # frames are consecutive and distinct: the speaker moves
    assert np.abs(frames[0].astype(int) - frames[60]).mean() > 3


@pytest.mark.parametrize('layout', sorted(LAYOUT_WRITERS))
def test_every_layout_round_trips(tmp_path, layout):
    frames = carphone(12)
    path = make_video(str(tmp_path), 'clip', layout, frames)
    # strips hold square frames unless told the frame width
    video = open_video(path, strip_frame_width=176 if layout == 'png-strip' else None)
    assert video.num_frames == 12
    assert video.frame_size == (144, 176)
    decoded = np.stack(list(video))
    error = np.abs(decoded.astype(float) - frames).mean()
    assert error <= LAYOUT_TOLERANCE[layout]
    # random access agrees with streaming, in any order and with repeats
    picked = video.read([7, 2, 7, 11])
    for frame, index in zip(picked, [7, 2, 7, 11]):
        np.testing.assert_array_equal(frame, decoded[index])
    np.testing.assert_array_equal(next(video.iter_frames(5)), decoded[5])


def test_square_strip_default(tmp_path):
    frames = astronaut_clip(5, 48)
    video = open_video(write_strip(str(tmp_path / 's.png'), frames))
    assert video.num_frames == 5 and video.frame_size == (48, 48)
    np.testing.assert_array_equal(np.stack(list(video)), frames)


def test_strip_width_not_multiple(tmp_path):
    path = write_strip(str(tmp_path / 's.png'), astronaut_clip(3, 48))
    with pytest.raises(VideoError, match=r's\.png: strip width 144 is not a multiple of '
                       r'the frame width 100; set strip_frame_width'):
        open_video(path, strip_frame_width=100).num_frames


def test_folder_natural_order_and_hidden_files(tmp_path):
    frames = astronaut_clip(12, 32)
    folder = tmp_path / 'v'
    folder.mkdir()
    for i, frame in enumerate(frames):  # unpadded names: 10 must follow 9
        Image.fromarray(frame).save(folder / f'{i}.png')
    (folder / '.DS_Store').write_bytes(b'junk')
    video = open_video(str(folder))
    np.testing.assert_array_equal(np.stack(list(video)), frames)


def test_streaming_holds_one_frame(tmp_path):
    """Iterating a container decodes lazily: stopping early decodes no further."""
    video = open_video(carphone_path())
    iterator = video.iter_frames()
    first = next(iterator)
    iterator.close()
    assert first.shape == (144, 176, 3)


# --- bad input -----------------------------------------------------------------

def test_missing_path(tmp_path):
    with pytest.raises(VideoError, match='nope.mp4: no such file or folder'):
        open_video(str(tmp_path / 'nope.mp4'))


def test_unsupported_type(tmp_path):
    path = tmp_path / 'notes.txt'
    path.write_text('hello')
    with pytest.raises(VideoError, match=r"notes.txt: unsupported video type '.txt'"):
        open_video(str(path))


def test_unreadable_video(tmp_path):
    """Noise (fixed bytes: the demuxer rejects these; some other noise
    passes for a stream without video, refused as such) gets one line."""
    path = tmp_path / 'noise.mp4'
    path.write_bytes(random.Random(0).randbytes(5000))
    with pytest.raises(VideoError, match=r'noise.mp4: (unreadable video \(.*\)|no video frames); '
                       're-encode or remove it$'):
        open_video(str(path)).num_frames


def test_truncated_video(tmp_path):
    """Cutting the data of an mp4 whose index comes first leaves fewer frames than announced."""
    cut = write_truncated_mp4(str(tmp_path / 'cut.mp4'), carphone(30))
    video = open_video(cut)
    assert video.num_frames == 30  # the header still announces every frame
    with pytest.raises(VideoError, match=r'cut.mp4: truncated video: decoded \d+ of 30 frames; '
                       're-encode or remove it'):
        check_video(video, 'full')


def test_zero_frames_container(tmp_path):
    """An mp4 written without frames has no usable video track."""
    import av
    path = str(tmp_path / 'empty.mp4')
    with av.open(path, 'w') as container:
        stream = container.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, 'yuv420p'
        container.start_encoding()
    with pytest.raises(VideoError, match=r'empty.mp4: no video frames; re-encode or remove it'):
        open_video(path).num_frames


def test_empty_folder(tmp_path):
    (tmp_path / 'v').mkdir()
    with pytest.raises(VideoError, match='v: frame folder holds no frames'):
        open_video(str(tmp_path / 'v')).num_frames


def test_one_frame(tmp_path):
    path = write_folder(str(tmp_path / 'one'), astronaut_clip(1))
    with pytest.raises(VideoError, match=r'one: video has 1 frame\(s\), at least 2 needed'):
        check_video(open_video(path), min_frames=2)


def test_mixed_sizes(tmp_path):
    frames = astronaut_clip(3, 32)
    path = write_folder(str(tmp_path / 'v'), frames)
    Image.fromarray(astronaut_clip(1, 40)[0]).save(osp.join(path, '0000001.png'))
    video = open_video(path)
    with pytest.raises(VideoError, match=r'0000001.png: frame is 40x40 but the first frame '
                       r'is 32x32; give all frames one size'):
        check_video(video, 'full')
    with pytest.raises(VideoError, match=r'0000001.png: frame 1 is 40x40 but the video is 32x32'):
        list(video)


@pytest.mark.parametrize('mode,problem', [('L', 'is grayscale'), ('RGBA', 'has an alpha channel')])
def test_gray_and_alpha_frames(tmp_path, mode, problem):
    frames = astronaut_clip(3, 32)
    path = write_folder(str(tmp_path / 'v'), frames)
    Image.fromarray(frames[2]).convert(mode).save(osp.join(path, '0000002.png'))
    with pytest.raises(VideoError, match=rf"0000002.png: frame {problem} \(PIL mode '{mode}'\); "
                       'save frames as RGB or set convert_channels=True'):
        check_video(open_video(path), 'full')
    converted = list(open_video(path, convert_channels=True))
    assert converted[2].shape == (32, 32, 3)
    if mode == 'L':  # replicated gray
        assert np.array_equal(converted[2][..., 0], converted[2][..., 1])
    else:
        np.testing.assert_array_equal(converted[2], frames[2])


def test_non_image_among_frames(tmp_path):
    path = write_folder(str(tmp_path / 'v'), astronaut_clip(3))
    with open(osp.join(path, 'notes.txt'), 'w') as f:
        f.write('x')
    with pytest.raises(VideoError, match='notes.txt: not an image file among the frames; '
                       'remove it from the frame folder'):
        open_video(path).num_frames


def test_corrupt_image_among_frames(tmp_path):
    path = write_folder(str(tmp_path / 'v'), astronaut_clip(3))
    with open(osp.join(path, '0000001.png'), 'wb') as f:
        f.write(b'not a png')
    with pytest.raises(VideoError, match=r'0000001.png: not a readable image'):
        check_video(open_video(path), 'full')
