"""Oxford 102 Flowers: 8,189 flower photographs in 102 categories, with the publisher's
train/val/test split (``setid.mat``) and labels (``imagelabels.mat``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from .folder import default_loader
from ...utils.data.fetch import check_integrity, download_and_extract_archive, download_url, require_md5, verify_str_arg
from .vision import VisionDataset

__all__ = ["Flowers102"]


class Flowers102(VisionDataset):
    """`Oxford 102 Flowers <https://www.robots.ox.ac.uk/~vgg/data/flowers/102/>`_.

    The files live in ``root/flowers-102/``: ``jpg/image_00001.jpg`` ..., ``imagelabels.mat``
    and ``setid.mat`` (both md5-verified before they are read).

    Args:
        root: the folder that holds ``flowers-102/``.
        split: "train" (1,020 images), "val" (1,020) or "test" (6,149).
        transform: a callable applied to each loaded image.
        target_transform: a callable applied to each int label (0..101).
        download: fetch the files unless they are there and intact.
        loader: a callable loading an image from its path (RGB PIL image by default).

    Attributes:
        classes: the 102 category names, in label order.
    """

    _download_url_prefix = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
    _file_dict = {  # filename, md5
        "image": ("102flowers.tgz", "52808999861908f626f3c1f4e79d11fa"),
        "label": ("imagelabels.mat", "e0620be6f572b9609742df49c70aed4d"),
        "setid": ("setid.mat", "a5357ecc9cb78c4bef273ce3793fc85c"),
    }
    _splits_map = {"train": "trnid", "val": "valid", "test": "tstid"}

    def __init__(self, root: str | Path, split: str = "train", transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False,
                 loader: Callable[[str | Path], Any] = default_loader) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self._split = verify_str_arg(split, "split", ("train", "val", "test"))
        self._base_folder = Path(self.root) / "flowers-102"
        self._images_folder = self._base_folder / "jpg"
        if download:
            self.download()
        missing = [name for key, (name, _) in self._file_dict.items() if key != "image"
                   and not (self._base_folder / name).is_file()]
        if not self._images_folder.is_dir():
            missing.insert(0, "jpg/")
        if missing:
            raise RuntimeError(f"Dataset not found at {self._base_folder} (missing {', '.join(missing)}). "
                               f"Use download=True, or put the files there.")
        from scipy.io import loadmat  # imported here: it takes longer than the rest of ember.vision

        mats = {}
        for key in ("setid", "label"):
            name, md5 = self._file_dict[key]
            require_md5(self._base_folder / name, md5)
            mats[key] = loadmat(self._base_folder / name, squeeze_me=True)
        setid, labels = mats["setid"], mats["label"]
        split_key = self._splits_map[self._split]
        if split_key not in setid or "labels" not in labels:
            raise RuntimeError(f"{self._base_folder} holds unexpected .mat files: expected setid.mat with "
                               f"{split_key!r} (image ids) and imagelabels.mat with 'labels' (1..102 per image).")
        # squeeze_me turns a one-element list into a scalar: ravel makes it a list again.
        label_of = dict(enumerate((np.ravel(labels["labels"]) - 1).tolist(), 1))  # image ids count from 1
        image_ids = np.ravel(setid[split_key]).tolist()
        self._labels = [label_of[i] for i in image_ids]
        self._image_files = [self._images_folder / f"image_{i:05d}.jpg" for i in image_ids]
        self.loader = loader

    def __len__(self) -> int:
        return len(self._image_files)

    def __getitem__(self, idx: int) -> tuple[Any, Any]:
        """The sample at ``idx``: (loaded image, int label), transformed."""
        return self._transformed(self.loader(self._image_files[idx]), self._labels[idx])

    def extra_repr(self) -> str:
        return f"split={self._split}"

    def _check_integrity(self) -> bool:
        return self._images_folder.is_dir() and all(
            check_integrity(self._base_folder / name, md5) for key, (name, md5) in self._file_dict.items()
            if key != "image")

    def download(self) -> None:
        """Fetch and verify the image archive (unpacked into ``root/flowers-102``) and the two
        .mat files, unless they are there and intact."""
        if self._check_integrity():
            print("Files already downloaded and verified")
            return
        name, md5 = self._file_dict["image"]
        download_and_extract_archive(self._download_url_prefix + name, str(self._base_folder), md5=md5)
        for key in ("label", "setid"):
            name, md5 = self._file_dict[key]
            download_url(self._download_url_prefix + name, str(self._base_folder), md5=md5)

    classes = [
    'pink primrose', 'hard-leaved pocket orchid', 'canterbury bells', 'sweet pea', 'english marigold',
    'tiger lily', 'moon orchid', 'bird of paradise', 'monkshood', 'globe thistle', 'snapdragon',
    "colt's foot", 'king protea', 'spear thistle', 'yellow iris', 'globe-flower', 'purple coneflower',
    'peruvian lily', 'balloon flower', 'giant white arum lily', 'fire lily', 'pincushion flower',
    'fritillary', 'red ginger', 'grape hyacinth', 'corn poppy', 'prince of wales feathers',
    'stemless gentian', 'artichoke', 'sweet william', 'carnation', 'garden phlox', 'love in the mist',
    'mexican aster', 'alpine sea holly', 'ruby-lipped cattleya', 'cape flower', 'great masterwort',
    'siam tulip', 'lenten rose', 'barbeton daisy', 'daffodil', 'sword lily', 'poinsettia', 'bolero deep blue',
    'wallflower', 'marigold', 'buttercup', 'oxeye daisy', 'common dandelion', 'petunia', 'wild pansy',
    'primula', 'sunflower', 'pelargonium', 'bishop of llandaff', 'gaura', 'geranium', 'orange dahlia',
    'pink-yellow dahlia?', 'cautleya spicata', 'japanese anemone', 'black-eyed susan', 'silverbush',
    'californian poppy', 'osteospermum', 'spring crocus', 'bearded iris', 'windflower', 'tree poppy',
    'gazania', 'azalea', 'water lily', 'rose', 'thorn apple', 'morning glory', 'passion flower', 'lotus',
    'toad lily', 'anthurium', 'frangipani', 'clematis', 'hibiscus', 'columbine', 'desert-rose', 'tree mallow',
    'magnolia', 'cyclamen', 'watercress', 'canna lily', 'hippeastrum', 'bee balm', 'ball moss', 'foxglove',
    'bougainvillea', 'camellia', 'mallow', 'mexican petunia', 'bromelia', 'blanket flower', 'trumpet creeper',
    'blackberry lily',
    ]
