"""The online pipeline: `SegmentationDataset`, the `keras.utils.PyDataset` that `model.fit`
reads, and the augmentation it applies to image and mask together on the fly."""
