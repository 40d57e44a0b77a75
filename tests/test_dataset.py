"""SegmentationDataset: pairing by stem, errors, resizing, label formats, augmentation, fit."""

import keras
import numpy as np
import pytest
from PIL import Image

import flexseg
from flexseg import FlexsegError
from flexseg.data import Palette, colorize
from flexseg.data.pipeline.augmentation import Augmentation, Augmenter
from flexseg.data.pipeline.dataset import SegmentationDataset
from flexseg.data.synthetic import write_dataset

SCREW = Palette.load("mvtec_screw")


def write_pair(split, stem, labels, image_suffix=".png", gray=False):
    """An image whose brightness encodes the labels (40 per class), and its colorized mask."""
    for sub in ("images", "masks"):
        (split / sub).mkdir(parents=True, exist_ok=True)
    pixels = (labels.astype(np.uint8) * 40 + 10).astype(np.uint8)
    image = pixels if gray else np.repeat(pixels[..., None], 3, axis=-1)
    Image.fromarray(image).save(split / "images" / f"{stem}{image_suffix}")
    Image.fromarray(colorize(labels, SCREW)).save(split / "masks" / f"{stem}.png")


def blocks(size=32, first=1, second=4):
    labels = np.zeros((size, size), np.uint8)
    labels[4:16, 4:20] = first
    labels[20:28, 10:30] = second
    return labels


def test_pairs_by_stem_not_by_listing_position(tmp_path):
    split = tmp_path / "train"
    write_pair(split, "b_second", blocks(first=2))
    write_pair(split, "a_first", blocks(first=5), image_suffix=".jpg")
    (split / "masks" / "a_first.png").rename(split / "masks" / "zz.png")  # break the pair ...
    (split / "masks" / "zz.png").rename(split / "masks" / "a_first.png")  # ... and restore it
    dataset = SegmentationDataset(tmp_path, SCREW, split="train", batch_size=2, labels="sparse")
    assert [pair.stem for pair in dataset.pairs] == ["a_first", "b_second"]
    images, labels = dataset[0]
    assert labels[0, 5, 5] == 5 and labels[1, 5, 5] == 2
    brightness = np.rint((images[..., 0] - 10) / 40)
    assert np.mean(brightness[1] == labels[1]) == 1.0  # png: exact
    assert np.mean(brightness[0] == labels[0]) > 0.9  # jpeg: lossy but the same pair


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: (s / "masks" / "p0.png").unlink(), r"1 image\(s\) without a mask: p0\.png"),
        (lambda s: (s / "images" / "p1.png").unlink(), r"1 mask\(s\) without an image: p1\.png"),
        (
            lambda s: [(s / "masks" / f"p{i}.png").unlink() for i in range(7)],
            r"7 image\(s\) without a mask: p0\.png, p1\.png, p2\.png, p3\.png, p4\.png and 2 more",
        ),
        (
            lambda s: Image.fromarray(np.zeros((16, 32, 3), np.uint8)).save(s / "masks" / "p2.png"),
            r"1 pair\(s\) whose mask size differs from the image: "
            r"p2 \(image \(32, 32\), mask \(32, 16\)\)",
        ),
        (
            lambda s: (s / "images" / "p3.png").write_bytes(b"junk"),
            r"1 unreadable file\(s\): p3\.png",
        ),
        (
            lambda s: (s / "images" / "notes.txt").write_text("x"),
            r"unsupported type in images/ \(expected \.png.*\): notes\.txt",
        ),
        (
            lambda s: Image.fromarray(np.zeros((32, 32), np.uint8)).save(s / "images" / "p4.jpg"),
            r"stem\(s\) used twice in images/: p4\.jpg and p4\.png",
        ),
        (
            lambda s: [f.unlink() for f in (s / "images").iterdir()],
            r"1 empty folder\(s\) \(expected \.png.*\): images\.$",
        ),
        (
            lambda s: [f.unlink() for f in (s / "masks").iterdir()] and (s / "masks").rmdir(),
            r"1 folder\(s\) not found \(a split folder holds images/ and masks/\): masks",
        ),
    ],
)
def test_bad_folders_are_errors_listing_the_files(tmp_path, setup, message):
    split = tmp_path / "train"
    for i in range(8):
        write_pair(split, f"p{i}", blocks())
    setup(split)
    with pytest.raises(FlexsegError, match=message):
        SegmentationDataset(tmp_path, SCREW, split="train")


def test_resize_channels_scale_and_label_formats(tmp_path):
    split = tmp_path / "valid"
    write_pair(split, "g", blocks(64), gray=True)
    onehot = SegmentationDataset(tmp_path, SCREW, split="valid", image_size=(32, 48), batch_size=1)
    images, targets = onehot[0]
    assert images.shape == (1, 32, 48, 3) and images.dtype == np.float32
    assert np.array_equal(images[..., 0], images[..., 2]) and images.max() == 170  # raw 0-255
    assert targets.shape == (1, 32, 48, 6)
    np.testing.assert_array_equal(targets.sum(-1), 1.0)
    assert set(np.unique(targets.argmax(-1))) == {
        0,
        1,
        4,
    }  # nearest: no class appears from blending

    gray = SegmentationDataset(
        tmp_path, SCREW, split="valid", channels=1, scale="unit", labels="sparse", batch_size=1
    )
    images, labels = gray[0]
    assert images.shape == (1, 64, 64, 1) and images.max() <= 1.0
    assert labels.dtype == np.int32 and np.array_equal(labels[0], blocks(64))


def test_class_weights_and_ignored_pixels_give_sample_weights(tmp_path):
    split = tmp_path / "train"
    write_pair(split, "x", blocks())
    mask = np.asarray(Image.open(split / "masks" / "x.png")).copy()
    mask[0, :3] = (200, 40, 180)  # off-palette
    Image.fromarray(mask).save(split / "masks" / "x.png")
    with pytest.raises(FlexsegError, match=r"x\.png.*200, 40, 180"):
        SegmentationDataset(tmp_path, SCREW, batch_size=1)[0]
    dataset = SegmentationDataset(
        tmp_path,
        SCREW,
        batch_size=1,
        off_palette="ignore",
        class_weights={"background": 0.5, "thread_side": 3.0},
    )
    _, targets, weights = dataset[0]
    assert weights[0, 0, :3].tolist() == [0, 0, 0] and targets[0, 0, :3].sum() == 0
    assert weights[0, 5, 5] == 1.0 and weights[0, 22, 15] == 3.0 and weights[0, 31, 31] == 0.5
    assert dataset.off_palette_pixels == {"x.png": 3}
    with pytest.raises(FlexsegError, match="has 2 values but the palette has 6 classes"):
        SegmentationDataset(tmp_path, SCREW, class_weights=[1, 2])


def test_seeded_shuffling(tmp_path):
    for i in range(6):
        write_pair(tmp_path / "train", f"s{i}", blocks(first=i % 6))

    def order(dataset):
        return [
            int(dataset[b][1][j].argmax(-1)[5, 5]) for b in range(len(dataset)) for j in range(2)
        ]

    plain = SegmentationDataset(tmp_path, SCREW, batch_size=2)
    assert order(plain) == [0, 1, 2, 3, 4, 5]
    first = SegmentationDataset(tmp_path, SCREW, batch_size=2, shuffle=True, seed=1)
    again = SegmentationDataset(tmp_path, SCREW, batch_size=2, shuffle=True, seed=1)
    assert order(first) == order(again) and sorted(order(first)) == [0, 1, 2, 3, 4, 5]
    epoch0 = order(first)
    first.on_epoch_end()
    assert order(first) != epoch0


def test_augmentation_moves_image_and_labels_together():
    labels = np.stack([blocks(64, first=1, second=4), blocks(64, first=3, second=5)])
    images = np.repeat((labels * 40.0 + 10)[..., None], 3, axis=-1).astype(np.float32)
    geometric = Augmenter(
        Augmentation(
            hflip=True, vflip=True, rot90=True, rotation=25, zoom=0.2, shift=0.1, elastic=0.5
        ),
        seed=3,
    )
    moved_images, moved_labels = geometric(images, labels)
    assert (moved_labels != labels).mean() > 0.05, "the geometry should change"
    assert set(np.unique(moved_labels)) <= {0, 1, 3, 4, 5}
    agree = np.rint((moved_images[..., 0] - 10) / 40) == moved_labels
    assert agree.mean() > 0.85  # disagreement only on interpolated edges

    photometric = Augmenter(Augmentation(brightness=0.3, contrast=0.3, noise=5, blur=1.0), seed=3)
    changed_images, same_labels = photometric(images, labels)
    assert np.array_equal(same_labels, labels)
    assert np.abs(changed_images - images).mean() > 1.0


def test_a_batch_is_augmented_the_same_in_any_order_of_requests(tmp_path):
    # Loader threads ask for batches in no fixed order: each batch must not care.
    root = write_dataset(tmp_path / "data", size=32, count=20, seed=0).root
    augmentation = {"hflip": True, "vflip": True, "rot90": True, "zoom": 0.2, "noise": 3}

    def loaded(order):
        data = SegmentationDataset(root, "mvtec_screw", split="train", batch_size=3,
                                   augmentation=augmentation, seed=5)  # fmt: skip
        return {index: data[index] for index in order}, data

    forward, data = loaded(range(4))
    backward, _ = loaded(reversed(range(4)))
    for index in range(4):
        assert np.array_equal(forward[index][0], backward[index][0]), index
        assert np.array_equal(forward[index][1], backward[index][1]), index
    data.on_epoch_end()  # a new epoch augments the same images anew
    assert not np.array_equal(data[0][0], forward[0][0])


def test_a_dataset_set_to_an_epoch_gives_that_epochs_batches(tmp_path):
    # What a resumed training does: start at the epoch after its backup's.
    root = write_dataset(tmp_path / "data", size=32, count=20, seed=0).root

    def dataset():
        return SegmentationDataset(root, "mvtec_screw", split="train", batch_size=3,
                                   shuffle=True, augmentation={"hflip": True}, seed=5)  # fmt: skip

    run, resumed = dataset(), dataset()
    run.on_epoch_end()
    run.on_epoch_end()
    resumed.set_epoch(2)
    for index in range(len(run)):
        for part, again in zip(run[index], resumed[index], strict=True):
            assert np.array_equal(part, again), index
    resumed.set_epoch(0)
    assert not np.array_equal(resumed[0][0], run[0][0])
    for wrong in (-1, 1.0, True):
        with pytest.raises(FlexsegError, match=f"epoch must be an integer >= 0; got {wrong}"):
            resumed.set_epoch(wrong)


def test_augmentation_settings_are_checked():
    with pytest.raises(
        FlexsegError, match=r"unknown augmentation 'rotate'.*Did you mean: rotation"
    ):
        Augmentation.from_dict({"rotate": 10})
    with pytest.raises(FlexsegError, match=r"zoom must be a number in \[0, 0.9\]; got 2"):
        Augmentation(zoom=2)
    with pytest.raises(FlexsegError, match="hflip must be true or false"):
        Augmentation(hflip=1)


def test_feeds_flexunet_fit(tmp_path):
    root = write_dataset(tmp_path / "data", size=64, count=8, seed=0).root
    train = SegmentationDataset(
        root,
        "mvtec_screw",
        split="train",
        batch_size=2,
        shuffle=True,
        augmentation={"hflip": True, "rotation": 10},
        workers=2,
    )
    keras.utils.set_random_seed(0)
    model = flexseg.build(
        "flexunet",
        num_classes=train.palette.num_classes,
        input_shape=(64, 64, 3),
        base_filters=4,
        num_layers=3,
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    valid = SegmentationDataset(root, "mvtec_screw", split="valid", batch_size=2)
    assert np.isfinite(model.evaluate(valid, verbose=0))
