"""Images for the environment: procedural scenes with masks, bundled photos, user photos, and
the uint8 batch resizer (:func:`resize_uint8`) every learner shares.

>>> from styling_env.images import make_images
>>> batch = make_images("procedural", n=2, size=64, seed=0)
>>> tuple(batch.pixels.shape), batch.has_masks.tolist()
((2, 3, 64, 64), [True, True])
"""

from .batch import MASK_NAMES, ImageBatch, as_image_batch
from .bundled import photo_names
from .procedural import THEMES, render_scene
from .resize import resize_uint8
from .sources import SOURCES, make_images

__all__ = [
    "MASK_NAMES",
    "SOURCES",
    "THEMES",
    "ImageBatch",
    "as_image_batch",
    "make_images",
    "photo_names",
    "render_scene",
    "resize_uint8",
]
