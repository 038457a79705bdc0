"""Turn uint8 batches into normalized float batches, augmenting on the device itself.

Augmentation is drawn from a generator seeded by (seed, step), so the batch of a
given step is the same whenever it is computed: after a range test, after a
resume, or in a rerun.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class InputPipeline:
    """uint8 (B, C, H, W) on the device → float, normalized, and augmented for training."""

    def __init__(self, mean, std, augment: str, seed: int, device: torch.device, resolution: int):
        shape = (1, len(mean), 1, 1)
        std_t = torch.tensor(std, dtype=torch.float32, device=device).view(shape)
        self.scale = 1.0 / (255.0 * std_t)
        self.shift = -torch.tensor(mean, dtype=torch.float32, device=device).view(shape) / std_t
        self.augment = augment
        self.seed = seed
        self.device = device
        self.pad = max(1, resolution // 8)
        self.generator = torch.Generator(device=device)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 → float (x/255 - mean) / std; one-channel images broadcast to a three-channel mean/std (pretrained weights)."""
        return images.float() * self.scale + self.shift

    def for_training(self, images: torch.Tensor, step: int) -> torch.Tensor:
        """The normalized batch of global ``step``, with that step's augmentation."""
        if self.augment == "none":
            return self.normalize(images)
        self.generator.manual_seed(self.seed * 1_000_003 + step)
        images = self._shift(images)
        if self.augment == "shift+flip":
            flip = torch.rand(images.shape[0], generator=self.generator, device=self.device) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
        return self.normalize(images)

    def _shift(self, images: torch.Tensor) -> torch.Tensor:
        """Translate each image by up to ``pad`` pixels, filling with zeros."""
        batch, _, height, width = images.shape
        padded = F.pad(images, (self.pad,) * 4)
        offsets = torch.randint(0, 2 * self.pad + 1, (2, batch), generator=self.generator, device=self.device)
        rows = offsets[0, :, None] + torch.arange(height, device=self.device)
        cols = offsets[1, :, None] + torch.arange(width, device=self.device)
        picked = padded[torch.arange(batch, device=self.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
        return picked.permute(0, 3, 1, 2)
