"""Preparing datasets: fingerprint, split, cache, summary, bad images, streaming."""

import os
import shutil

import numpy as np
import pytest
import torch
from helpers import CAMERA2, SAMPLE, write_image, write_one_odd_size

from engine.data import dataset as dataset_module
from engine.data import prepare_dataset
from engine.data.batches import FileDataset, StreamingBatches, TensorBatches
from engine.data.fingerprint import fingerprint
from engine.data.folder import scan_folder
from engine.data.sizes import size_counts, size_stats, sizes_text
from engine.data.split import stratified_split
from engine.errors import DatasetError


def listing(root):
    return sorted((p, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in map(str, root.rglob("*")))


def test_fingerprint_is_stable_and_sensitive(tiny_folder):
    first = fingerprint(scan_folder(tiny_folder))
    os.utime(tiny_folder / "cat" / "0.png", (1, 1))
    assert fingerprint(scan_folder(tiny_folder)) == first
    (tiny_folder / "cat" / "0.png").rename(tiny_folder / "cat" / "zero.png")
    renamed = fingerprint(scan_folder(tiny_folder))
    assert renamed != first
    with open(tiny_folder / "cat" / "zero.png", "ab") as handle:
        handle.write(b"\0")
    assert fingerprint(scan_folder(tiny_folder)) != renamed


def test_the_two_sample_variants_have_different_fingerprints():
    assert fingerprint(scan_folder(SAMPLE)) != fingerprint(scan_folder(CAMERA2))


def test_split_is_stratified_and_seeded():
    labels = np.repeat(np.arange(4), [10, 20, 30, 1])
    train, val = stratified_split(labels, 0.2, seed=3)
    assert np.array_equal(train, stratified_split(labels, 0.2, seed=3)[0])
    assert not np.array_equal(val, stratified_split(labels, 0.2, seed=4)[1])
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(61))
    assert [int((labels[val] == k).sum()) for k in range(4)] == [2, 4, 6, 0]


def test_summary_of_the_sample(tmp_path):
    data = prepare_dataset(SAMPLE, cache_dir=tmp_path)
    s = data.summary
    assert s.image_count == 1797 and s.channels == 1 and s.resolution == 32
    assert sum(s.class_counts.values()) == 1797 and s.class_counts["0"] == 178
    assert s.image_sizes["most_common"] == [32, 32]
    assert 0.2 < s.mean[0] < 0.4 and 0.2 < s.std[0] < 0.5
    assert len(data.train_index) + len(data.val_index) == 1797
    assert set(data.train_index).isdisjoint(data.val_index)


def test_the_decode_records_every_images_size_and_the_cache_keeps_them(tmp_path, monkeypatch):
    """The sizes came from the headers of 400 sampled images: a 6×6 one among 403 at 4×4 went unseen (as a 4000×4000 one
    among 1797 did), though the decode opens every image."""
    root = write_one_odd_size(tmp_path / "odd")
    first = prepare_dataset(root, cache_dir=tmp_path / "cache").summary
    assert first.size_counts == ((4, 4, 402), (6, 6, 1)) and first.sizes_read == first.image_count == 403
    assert first.image_sizes["max"] == [6, 6] and first.image_sizes["most_common"] == [4, 4]
    monkeypatch.setattr(dataset_module, "decode_all", lambda *a, **k: pytest.fail("decoded again"))
    assert prepare_dataset(root, cache_dir=tmp_path / "cache").summary == first  # read back from the cache


def test_a_cache_written_before_sizes_were_kept_is_decoded_again_with_the_reason(tmp_path):
    root = write_one_odd_size(tmp_path / "odd")
    prepare_dataset(root, cache_dir=tmp_path / "cache")
    [cache] = (tmp_path / "cache").glob("*-v2.npz")
    with np.load(cache) as data:  # as version 1 wrote it: no sizes
        np.savez(cache.with_name(cache.name.replace("-v2", "-v1")), **{k: data[k] for k in data.files if k != "sizes"})
    cache.unlink()
    said = []
    assert prepare_dataset(root, cache_dir=tmp_path / "cache", log=said.append).summary.size_counts == ((4, 4, 402), (6, 6, 1))
    assert said == [f"decoding again: the cache {cache.with_name(cache.name.replace('-v2', '-v1'))} was written by an earlier "
                    "lrscope, which kept no image's size (removed)"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cache.name]


def test_cache_makes_the_second_open_decode_nothing(sample_copy, tmp_path, monkeypatch):
    before = listing(sample_copy)
    first = prepare_dataset(sample_copy, cache_dir=tmp_path / "cache", resolution=16)
    assert list((tmp_path / "cache").glob("*.npz"))
    monkeypatch.setattr(dataset_module, "decode_all", lambda *a, **k: pytest.fail("decoded again"))
    second = prepare_dataset(sample_copy, cache_dir=tmp_path / "cache", resolution=16)
    assert np.array_equal(first.decoded.images, second.decoded.images)
    assert listing(sample_copy) == before, "the dataset folder was written to"


def test_corrupt_images_are_skipped_and_counted(tiny_folder):
    (tiny_folder / "cat" / "0.png").write_bytes(b"")
    (tiny_folder / "dog" / "1.png").write_bytes(b"\x89PNG garbage")
    data = prepare_dataset(tiny_folder)
    # Each named by its path in the folder (one example of two left the user hunting for the other), and what to do.
    [said] = [w for w in data.warnings if w.startswith("2 images could not be read and were skipped: ")]
    assert "cat/0.png: " in said and "; dog/1.png: " in said and said.endswith("; replace or remove them to train on every image")
    used = set(data.train_index) | set(data.val_index)
    assert len(used) == 22
    assert data.summary.class_counts == {"cat": 7, "dog": 7, "eel": 8} and data.summary.image_count == 22
    assert data.summary.unreadable == 2 and data.found_counts() == [8, 8, 8]


def test_a_class_too_small_to_validate_is_named(tiny_folder):
    """A class of one image trained, and the validation accuracy left it out without a word."""
    assert not [w for w in prepare_dataset(tiny_folder).warnings if "validation image" in w]
    for path in sorted((tiny_folder / "eel").iterdir())[1:]:
        path.unlink()
    data = prepare_dataset(tiny_folder)
    assert "eel" not in {data.summary.classes[label] for label in data.labels[data.val_index]}
    assert ("class eel has no validation image (too few to hold one out), so the validation accuracy does not measure it; "
            "add images") in data.warnings


def test_a_copy_of_a_folder_names_its_own_unreadable_files_from_the_cache(tiny_folder, tmp_path):
    """A copy has the same files, so the same cache: its warning named the original's file (".../broken2/5/fake.png")."""
    (tiny_folder / "dog" / "1.png").write_bytes(b"\x89PNG garbage")
    copy = shutil.copytree(tiny_folder, tmp_path / "copy")
    prepare_dataset(tiny_folder, cache_dir=tmp_path / "cache")
    warnings = prepare_dataset(copy, cache_dir=tmp_path / "cache").warnings
    assert any("skipped: dog/1.png: " in w for w in warnings), warnings  # named within the copy (the original's path is not in it)


def test_a_class_whose_images_are_all_corrupt(tiny_folder):
    for path in (tiny_folder / "eel").iterdir():
        path.write_bytes(b"")
    with pytest.raises(DatasetError, match="none of the images of class 'eel' can be read"):
        prepare_dataset(tiny_folder)


def test_an_image_too_large_to_decode_neither_sets_the_channels_nor_is_called_corrupt(tmp_path, monkeypatch):
    """A 20000×20000 RGB image among grayscale ones, skipped as too large, made the whole dataset train in colour and
    set its largest size; a class of such images was said to hold corrupt files (helper-92)."""
    import engine.data.images

    monkeypatch.setattr(engine.data.images, "MAX_PIXELS", 30 * 30)  # as 64 megapixels are to a 20000×20000 photo
    root = tmp_path / "gray"
    for name in ("a", "b"):
        for i in range(6):
            write_image(root / name / f"{i}.png", "L", value=40 + 20 * i + (100 if name == "b" else 0))
    write_image(root / "a" / "huge.png", "RGB", size=(40, 40))
    data = prepare_dataset(root)
    assert data.summary.channels == 1 and data.summary.image_sizes["max"] == [12, 12]
    assert any("skipped: a/huge.png: too large (40x40 pixels" in w for w in data.warnings), data.warnings
    for path in (root / "b").iterdir():
        write_image(path, "L", size=(40, 40))
    with pytest.raises(DatasetError) as raised:
        prepare_dataset(root)
    assert str(raised.value) == (f"{root / 'b'}: none of the images of class 'b' can be read (b/0.png: too large (40x40 pixels, "
                                 "over 0 megapixels); downscale it); replace or fix them")


def test_mixed_modes_use_three_channels(tiny_folder):
    assert prepare_dataset(tiny_folder).summary.channels == 3


def test_over_the_memory_budget_it_streams(tiny_folder):
    data = prepare_dataset(tiny_folder, memory_budget=10)
    assert data.streams and data.summary.image_count == 24


def test_streaming_and_in_memory_batches_agree(tiny_folder):
    data = prepare_dataset(tiny_folder, resolution=8)
    index = data.train_index
    memory = TensorBatches(torch.from_numpy(data.decoded.images[index]), torch.from_numpy(data.labels[index]), 4, shuffle=True, seed=1)
    files = FileDataset([data.paths[i] for i in index], data.labels[index], 8, data.summary.channels)
    stream = StreamingBatches(files, 4, shuffle=True, seed=1, workers=0)
    for (a, la), (b, lb) in zip(memory.iterate(2, 1), stream.iterate(2, 1), strict=True):
        assert torch.equal(a, b) and torch.equal(la, lb)


def test_files_that_vanish_during_a_run_are_skipped(tiny_folder):
    data = prepare_dataset(tiny_folder, resolution=8, memory_budget=10)
    files = FileDataset(data.paths, data.labels, 8, data.summary.channels)
    skipped = []
    stream = StreamingBatches(files, 24, shuffle=False, workers=0, on_skip=skipped.extend)
    os.remove(data.paths[3])
    shutil.rmtree(tiny_folder / "eel")
    images, labels = next(stream.iterate(0))
    assert len(labels) == 15 and len(skipped) == 9
    assert data.paths[3] in skipped


def test_batches_cover_an_epoch_once_and_depend_on_the_epoch():
    images, labels = torch.arange(10).view(10, 1, 1, 1).to(torch.uint8), torch.arange(10)
    batches = TensorBatches(images, labels, 3, shuffle=True, seed=0)
    first = torch.cat([y for _, y in batches.iterate(0)])
    assert len(batches) == 3 and len(set(first.tolist())) == 9
    assert not torch.equal(first, torch.cat([y for _, y in batches.iterate(1)]))
    assert torch.equal(first[3:], torch.cat([y for _, y in batches.iterate(0, start=1)]))


def test_one_image_that_cannot_be_opened_is_said_in_words(tiny_folder, monkeypatch):
    """It was "1 image could not be read and were skipped (e.g. …: [Errno 13] Permission denied: '…/0.png')"."""
    import errno
    import os

    locked, real_open = str(tiny_folder / "cat" / "0.png"), os.open

    def open_(path, *args, **kwargs):  # tests run as root, which chmod does not stop
        if str(path) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    data = prepare_dataset(tiny_folder)
    assert "1 image could not be read and was skipped: cat/0.png: Permission denied; replace or remove it to train on every image" \
        in data.warnings


def _gray_folder(root, count=6):
    for label, name in enumerate(("a", "b")):
        for i in range(count):
            write_image(root / name / f"{i}.png", "L", value=30 + 90 * label + i)
    return root


def test_images_the_square_crop_cuts_down_are_named_with_their_sizes(tmp_path):
    """A 300×40 strip trained as its central 40×40 square, without a word."""
    root = _gray_folder(tmp_path / "d")
    write_image(root / "a" / "strip.png", "L", size=(300, 40))
    write_image(root / "b" / "tall.png", "L", size=(20, 41))
    write_image(root / "b" / "edge.png", "L", size=(20, 40))  # exactly 2:1 keeps half: not said
    said = [w for w in prepare_dataset(root).warnings if "twice" in w]
    assert said == ["2 images have one side over twice the other (a/strip.png 300×40, b/tall.png 20×41): training crops "
                    "each image to its central square, which cuts off over half of such an image; crop or pad them to "
                    "near-square if what is cut off matters"]


def test_a_few_color_images_in_a_grayscale_set_are_named_as_what_makes_it_train_in_color(tmp_path):
    root = _gray_folder(tmp_path / "d")
    write_image(root / "b" / "red.png", "RGB")
    data = prepare_dataset(root)
    assert data.summary.channels == 3
    assert [w for w in data.warnings if "color" in w] == [
        "1 image in color among grayscale ones (b/red.png): the whole dataset trains in color (3 channels) because of "
        "it; convert it to grayscale, or remove it, to train on 1 channel"]
    for name in ("a", "b"):  # now color is the most: the gray ones are the odd ones out
        for i in range(6):
            write_image(root / name / f"{i}.png", "RGB", value=20 + i)
    write_image(root / "a" / "gray.png", "L")
    assert [w for w in prepare_dataset(root).warnings if "color" in w] == [
        "1 image in grayscale among color ones (a/gray.png): it trains as color with 3 equal channels; remove it if it "
        "does not belong"]


def test_when_only_a_sample_of_the_headers_is_read_the_count_says_of_how_many(tmp_path, monkeypatch):
    """Images streamed from disk are never all read before training: their shapes are the sample's, said so."""
    monkeypatch.setattr("engine.data.summary.HEADER_SAMPLE", 5)
    root = _gray_folder(tmp_path / "d")
    for i in range(6):
        write_image(root / "a" / f"wide{i}.png", "L", size=(60, 20))
    [said] = [w for w in prepare_dataset(root, memory_budget=10).warnings if "twice" in w]
    assert said.startswith("3 of the 5 images read have one side over twice the other (a/wide2.png 60×20, "), said
    [said] = [w for w in prepare_dataset(root).warnings if "twice" in w]  # decoded: every image measured
    assert said.startswith("6 images have one side over twice the other (a/wide0.png 60×20, "), said


def test_an_unreadable_image_among_headers_all_read_does_not_make_them_a_sample(tmp_path):
    """"2 of the 13 images read" beside "12 of 14 images (…unreadable)" named a third count (helper-75)."""
    root = _gray_folder(tmp_path / "d")
    for i in range(2):
        write_image(root / "a" / f"wide{i}.png", "L", size=(60, 20))
    (root / "a" / "fake.png").write_text("not an image")
    [said] = [w for w in prepare_dataset(root).warnings if "twice" in w]
    assert said.startswith("2 images have one side over twice the other"), said


@pytest.mark.parametrize("sample", [SAMPLE, CAMERA2])
def test_the_bundled_samples_have_nothing_to_say_about_their_shapes_or_modes(sample):
    assert not [w for w in prepare_dataset(sample).warnings if "twice" in w or "color" in w]


def test_many_sizes_are_said_by_their_ranges_and_the_most_common_ones():
    """Beyond three sizes the most common leave the odd one out: the ranges name the smallest and the largest."""
    sizes = [(32, 32)] * 100 + [(64, 64)] * 50 + [(20, 8)] * 3 + [(300, 40)]
    text = sizes_text(size_stats(sizes), size_counts(sizes), len(sizes), len(sizes))
    assert text == "widths 20–300, heights 8–64: 100 at 32×32, 50 at 64×64, 4 of other sizes"


def test_images_streamed_from_disk_keep_the_sampled_sizes_and_say_so(tmp_path):
    """Nothing decodes them all before training: the sizes are the header sample's, said as such."""
    data = prepare_dataset(write_one_odd_size(tmp_path / "odd"), memory_budget=10)
    s = data.summary
    assert data.streams and s.sizes_read == 400 < s.image_count
    assert sizes_text(s.image_sizes, s.size_counts, s.sizes_read, s.image_count) == "all 4×4 (of 400 sampled)"
