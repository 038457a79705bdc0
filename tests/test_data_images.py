"""Decoding single images of every mode, and refusing bad ones with a reason."""

import numpy as np
import pytest
from helpers import write_image
from PIL import Image

from engine.data.images import BadImage, load_image


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1", "I;16", "LA", "CMYK"])
@pytest.mark.parametrize("channels", [1, 3])
def test_every_mode_becomes_uint8_at_the_size(tmp_path, mode, channels):
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    write_image(path, mode, size=(20, 10), value=200)
    array = load_image(str(path), 8, channels)
    assert array.shape == (channels, 8, 8) and array.dtype == np.uint8


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16)).save(path)
    assert abs(int(load_image(str(path), 4, 1).mean()) - 128) <= 1


def test_transparent_pixels_become_black(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4, 4), (255, 255, 255, 0)).save(path)
    assert load_image(str(path), 4, 3).max() == 0


def test_aspect_is_kept_by_center_crop(tmp_path):
    path = tmp_path / "wide.png"
    image = np.zeros((10, 30), dtype=np.uint8)
    image[:, 10:20] = 255
    Image.fromarray(image).save(path)
    out = load_image(str(path), 10, 1)[0]
    assert out.min() == 255


@pytest.mark.parametrize("content, reason", [
    (b"", "not a readable image"),
    (b"this is text", "not a readable image"),
])
def test_corrupt_files_raise_bad_image(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(BadImage, match=reason):
        load_image(str(path), 8, 1)


def test_truncated_file(tmp_path):
    path = write_image(tmp_path / "t.jpg", "RGB", size=(64, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadImage, match="truncated|not a readable"):
        load_image(str(path), 8, 3)


def test_enormous_image_is_refused_from_its_header(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (10_000, 7_000)).save(path)
    with pytest.raises(BadImage, match="too large \\(10000x7000 pixels"):
        load_image(str(path), 8, 1)


def test_wrongly_named_files(tmp_path):
    png_named_jpg = tmp_path / "photo.jpg"
    Image.new("L", (8, 8), 99).save(png_named_jpg, format="PNG")
    assert load_image(str(png_named_jpg), 8, 1).mean() == 99
    text_named_png = tmp_path / "notes.png"
    text_named_png.write_text("not an image at all")
    with pytest.raises(BadImage, match="not a readable image"):
        load_image(str(text_named_png), 8, 1)
