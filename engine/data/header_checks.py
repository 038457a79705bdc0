"""Warnings about the images' shapes and modes: images that the square crop cuts down (of every image once decoded, else
of a sample of headers), and a few color images that make a grayscale set train in color (of the sample of headers, from
which the channels are chosen before any image is decoded)."""

from __future__ import annotations

from dataclasses import dataclass

from ..text import counted, listed, printable
from .images import is_gray

# Training crops each image to its central square: past 2:1 that square is under half of the image.
LONG_SIDE_RATIO = 2.0


@dataclass(frozen=True)
class ImageSizes:
    """Each image's path in the folder and (width, height); ``total``: the images the folder holds; ``tried``: how many
    of them were read (those that could not be are left out of the lists)."""

    paths: list[str]
    sizes: list[tuple[int, int]]
    total: int
    tried: int

    def which(self, count: int) -> str:
        """"3 images", or "3 of the 400 images read" when only a sample was read: a count of the sample is not of the
        folder. Every image tried is not a sample: "of the 42 images read" beside "41 of 43 images" named a third
        count, the unreadable header left out (helper-75)."""
        return counted(count, "image") if self.tried >= self.total else f"{count} of the {len(self.paths)} images read"


@dataclass(frozen=True)
class Headers(ImageSizes):
    """The headers of a sample of the images: also each one's PIL mode."""

    modes: list[str]


def header_warnings(headers: Headers, sizes: ImageSizes) -> list[str]:
    """What a user should hear about the images' shapes (``sizes``: of every image once decoded, else ``headers``) and
    the sampled images' modes before training on them."""
    return [printable(text) for text in (_elongated(sizes), _mixed_modes(headers)) if text]


def _elongated(sizes: ImageSizes) -> str:
    long = [f"{path} {w}×{h}" for path, (w, h) in zip(sizes.paths, sizes.sizes) if max(w, h) > LONG_SIDE_RATIO * min(w, h)]
    if not long:
        return ""
    many = len(long) > 1
    return (f"{sizes.which(len(long))} {'have' if many else 'has'} one side over twice the other ({listed(long, 3)}): "
            "training crops each image to its central square, which cuts off over half of such an image; crop or pad "
            f"{'them' if many else 'it'} to near-square if what is cut off matters")


def _mixed_modes(headers: Headers) -> str:
    gray = [path for path, mode in zip(headers.paths, headers.modes) if is_gray(mode)]
    color = [path for path, mode in zip(headers.paths, headers.modes) if not is_gray(mode)]
    if not gray or not color:
        return ""
    if len(color) <= len(gray):  # a few stray color images turn the whole set into 3 channels
        them = "them" if len(color) > 1 else "it"
        return (f"{headers.which(len(color))} in color among grayscale ones ({listed(color, 3)}): the whole dataset "
                f"trains in color (3 channels) because of {them}; convert {them} to grayscale, or remove {them}, to train "
                "on 1 channel")
    many = len(gray) > 1
    return (f"{headers.which(len(gray))} in grayscale among color ones ({listed(gray, 3)}): {'they train' if many else 'it trains'} "
            f"as color with 3 equal channels; remove {'them' if many else 'it'} if {'they do' if many else 'it does'} not belong")
