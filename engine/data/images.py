"""Decode one image file into a uint8 array at the training resolution, whatever its mode."""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image, ImageOps

from ..files import open_regular

MAX_PIXELS = 64_000_000
PROGRAMMING_ERRORS = (TypeError, NameError, AttributeError)
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

# We check sizes ourselves from the header, with a message that says what to do.
Image.MAX_IMAGE_PIXELS = None


class BadImage(Exception):
    """An image that cannot be used; the message says why."""


def header(path: str) -> tuple[tuple[int, int], str]:
    """(width, height) and PIL mode, read from the header without decoding pixels."""
    try:
        with open_regular(path) as handle, Image.open(handle) as image:
            _check_pixels(image)  # skipped by the decode: its mode and size chose the dataset's channels (helper-92)
            return image.size, image.mode
    except (BadImage, *PROGRAMMING_ERRORS):
        raise
    except Exception as error:  # malformed files make PIL raise many kinds
        raise BadImage(_reason(error)) from None


def _check_pixels(image: Image.Image) -> None:
    """BadImage for an image too large to decode (a decompression bomb, or a photo far larger than any training size)."""
    if image.width * image.height > MAX_PIXELS:
        raise BadImage(f"too large ({image.width}x{image.height} pixels, over {MAX_PIXELS // 1_000_000} megapixels); downscale it")


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:  # "[Errno 13] Permission denied: '/…/3.png'" named the file twice
        return error.strerror[:200]
    text = str(error) or type(error).__name__
    if "cannot identify image file" in text:
        return "not a readable image (corrupt, empty or not an image format)"
    if "truncated" in text.lower():
        return "truncated image (the file ends early)"
    return text[:200]


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Any mode to L or RGB: 16-bit and float scaled to 0-255, alpha composited on black."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 255.0 if values.max(initial=0) <= 255 else (65535.0 if values.max() <= 65535 else values.max())
        return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def load_image(path: str, size: int, channels: int) -> np.ndarray:
    """The image at ``path`` as uint8 (channels, size, size): shorter side resized to ``size``, center-cropped."""
    return load_sized(path, size, channels)[0]


def load_sized(path: str, size: int, channels: int) -> tuple[np.ndarray, tuple[int, int]]:
    """``load_image``'s array and the file's own (width, height), as its header gives it: the decode that reads every
    image records every size at no extra cost, where a sample of headers missed a 4000×4000 image among 1797."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # open_regular: a file swapped for a FIFO after the scan would make PIL wait for a writer forever
            with open_regular(path) as handle, Image.open(handle) as image:
                _check_pixels(image)
                stored = image.size  # before draft(), which shrinks a JPEG's size as it decodes
                image.draft("RGB" if channels == 3 else "L", (size, size))
                image = _to_eight_bit(ImageOps.exif_transpose(image))
                image = image.convert("RGB" if channels == 3 else "L")
                image = ImageOps.fit(image, (size, size), Image.Resampling.BILINEAR)
                array = np.array(image, dtype=np.uint8)
    except (BadImage, *PROGRAMMING_ERRORS):
        raise
    except Exception as error:  # malformed files make PIL raise many kinds
        raise BadImage(_reason(error)) from None
    return (array[None] if channels == 1 else np.ascontiguousarray(array.transpose(2, 0, 1))), stored


def is_gray(mode: str) -> bool:
    """Whether a PIL mode holds a single channel (gray, possibly with alpha)."""
    return mode in GRAY_MODES
