"""STL10, Caltech101, Flowers102, CelebA, VOC, COCO and ImageNet on small fake copies of each
data set's on-disk layout: lengths, samples, targets, transforms, splits and errors."""
import hashlib
import json
import os
import tarfile

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

import ember
from ember.vision import datasets


def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def write_image(path, size=(6, 5), value=0, mode="RGB"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(np.full(shape, value, dtype=np.uint8), mode).save(path)


# ---------------------------------------------------------------- STL10

@pytest.fixture
def stl10_root(tmp_path, monkeypatch):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images = {name: rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)
              for name, n in (("train", 4), ("test", 3), ("unlabeled", 2))}
    labels = {"train": np.array([1, 10, 3, 2], np.uint8), "test": np.array([5, 6, 7], np.uint8)}
    for name, array in images.items():  # stored column by column
        array.transpose(0, 1, 3, 2).tofile(folder / f"{name}_X.bin")
    for name, array in labels.items():
        array.tofile(folder / f"{name}_y.bin")
    (folder / "class_names.txt").write_text("\n".join(f"class{i}" for i in range(10)) + "\n")
    (folder / "fold_indices.txt").write_text("\n".join("0 2" if i == 0 else "3" for i in range(10)) + "\n")
    monkeypatch.setattr(datasets.STL10, "train_list", [[f, md5(folder / f)] for f in
                                                       ("train_X.bin", "train_y.bin", "unlabeled_X.bin")])
    monkeypatch.setattr(datasets.STL10, "test_list", [[f, md5(folder / f)] for f in ("test_X.bin", "test_y.bin")])
    return tmp_path, images, labels


def test_stl10_splits(stl10_root):
    root, images, labels = stl10_root
    ds = datasets.STL10(root, split="train")
    assert len(ds) == 4 and ds.classes[3] == "class3"
    image, target = ds[1]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (96, 96)
    np.testing.assert_array_equal(np.asarray(image), images["train"][1].transpose(1, 2, 0))
    assert target == 9 and type(target) is int  # labels stored 1..10
    assert [ds[i][1] for i in range(4)] == [0, 9, 2, 1]
    test = datasets.STL10(root, split="test", transform=lambda im: np.asarray(im).sum(), target_transform=str)
    assert len(test) == 3 and test[2] == (int(images["test"][2].astype(np.int64).sum()), "6")
    unlabeled = datasets.STL10(root, split="unlabeled")
    assert len(unlabeled) == 2 and unlabeled[1][1] == -1
    both = datasets.STL10(root, split="train+unlabeled")
    assert len(both) == 6 and [both[i][1] for i in range(6)] == [0, 9, 2, 1, -1, -1]
    fold = datasets.STL10(root, split="train", folds=0)
    assert [fold[i][1] for i in range(len(fold))] == [0, 2]
    assert "Split: train" in repr(ds)


def test_stl10_errors(stl10_root, tmp_path):
    root, _, _ = stl10_root
    with pytest.raises(ValueError, match="folds should be in the range \\[0, 10\\), but got 10"):
        datasets.STL10(root, folds=10)
    with pytest.raises(ValueError, match="Unknown value 'validation' for argument split"):
        datasets.STL10(root, split="validation")
    with pytest.raises(RuntimeError, match="Dataset not found at .*stl10_binary.*missing train_X.bin, train_y.bin.*"
                                           "download=True"):
        datasets.STL10(tmp_path / "elsewhere")
    with open(root / "stl10_binary" / "test_y.bin", "ab") as f:
        f.write(b"\x01")
    with pytest.raises(RuntimeError, match="Checksum mismatch for .*test_y.bin"):
        datasets.STL10(root, split="test")


# ---------------------------------------------------------------- Caltech101

def test_caltech101(tmp_path):
    base = tmp_path / "caltech101"
    counts = {"Faces": 2, "accordion": 1, "BACKGROUND_Google": 3}
    for category, n in counts.items():
        for k in range(1, n + 1):
            write_image(str(base / "101_ObjectCategories" / category / f"image_{k:04d}.jpg"), value=10 * k)
    contour = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    os.makedirs(base / "Annotations" / "Faces_2")
    savemat(base / "Annotations" / "Faces_2" / "annotation_0002.mat", {"obj_contour": contour})
    ds = datasets.Caltech101(tmp_path)
    assert ds.categories == ["Faces", "accordion"] and ds.annotation_categories == ["Faces_2", "accordion"]
    assert len(ds) == 3 and [ds[i][1] for i in range(3)] == [0, 0, 1]
    assert isinstance(ds[0][0], Image.Image) and ds[0][0].size == (6, 5)
    both = datasets.Caltech101(tmp_path, target_type=["category", "annotation"], target_transform=lambda t: t[::-1])
    outline, category = both[1][1]
    assert category == 0 and np.array_equal(outline, contour)
    with pytest.raises(ValueError, match="Unknown value 'bbox' for argument target_type"):
        datasets.Caltech101(tmp_path, target_type="bbox")
    with pytest.raises(RuntimeError, match="Dataset not found at .*101_ObjectCategories.*download=True"):
        datasets.Caltech101(tmp_path / "missing")


# ---------------------------------------------------------------- Flowers102

@pytest.fixture
def flowers_root(tmp_path, monkeypatch):
    base = tmp_path / "flowers-102"
    for k in range(1, 7):
        write_image(str(base / "jpg" / f"image_{k:05d}.jpg"), value=20 * k)
    savemat(base / "imagelabels.mat", {"labels": np.array([[3, 1, 102, 5, 5, 2]])})
    savemat(base / "setid.mat", {"trnid": np.array([[2, 5]]), "valid": np.array([[6]]), "tstid": np.array([[1, 3, 4]])})
    files = dict(datasets.Flowers102._file_dict)
    files["label"] = ("imagelabels.mat", md5(base / "imagelabels.mat"))
    files["setid"] = ("setid.mat", md5(base / "setid.mat"))
    monkeypatch.setattr(datasets.Flowers102, "_file_dict", files)
    return tmp_path


def test_flowers102(flowers_root):
    expected = {"train": [0, 4], "val": [1], "test": [2, 101, 4]}
    for split, labels in expected.items():
        ds = datasets.Flowers102(flowers_root, split=split)
        assert len(ds) == len(labels) and [ds[i][1] for i in range(len(ds))] == labels
    image, label = datasets.Flowers102(flowers_root, transform=np.asarray, target_transform=lambda t: t + 100)[1]
    assert image.shape == (5, 6, 3) and label == 104
    assert len(datasets.Flowers102.classes) == 102 and datasets.Flowers102.classes[0] == "pink primrose"


def test_flowers102_errors(flowers_root, tmp_path):
    with pytest.raises(ValueError, match="Unknown value 'valid' for argument split"):
        datasets.Flowers102(flowers_root, split="valid")
    with pytest.raises(RuntimeError, match="Dataset not found at .*flowers-102 \\(missing jpg/, imagelabels.mat, "
                                           "setid.mat\\)"):
        datasets.Flowers102(tmp_path / "missing")
    with open(flowers_root / "flowers-102" / "setid.mat", "ab") as f:
        f.write(b"x")
    with pytest.raises(RuntimeError, match="Checksum mismatch for .*setid.mat"):
        datasets.Flowers102(flowers_root)


# ---------------------------------------------------------------- CelebA

@pytest.fixture
def celeba_root(tmp_path, monkeypatch):
    base = tmp_path / "celeba"
    names = [f"{k:06d}.jpg" for k in range(1, 5)]
    for k, name in enumerate(names):
        write_image(str(base / "img_align_celeba" / name), value=k)
    attrs = [[1, -1, 1], [-1, -1, 1], [1, 1, -1], [-1, 1, 1]]
    (base / "list_attr_celeba.txt").write_text(
        "4\n5_o_Clock_Shadow Arched_Eyebrows Attractive \n"
        + "".join(f"{n} " + " ".join(f"{v:2d}" for v in a) + "\n" for n, a in zip(names, attrs)))
    (base / "identity_CelebA.txt").write_text("".join(f"{n} {i}\n" for n, i in zip(names, (7, 3, 7, 9))))
    (base / "list_bbox_celeba.txt").write_text(
        "4\nimage_id x_1 y_1 width height\n" + "".join(f"{n}    {k} {k + 1}   {k + 2} {k + 3}\n"
                                                        for k, n in enumerate(names)))
    (base / "list_landmarks_align_celeba.txt").write_text(
        "4\nlefteye_x lefteye_y\n" + "".join(f"{n} {k} {2 * k}\n" for k, n in enumerate(names)))
    (base / "list_eval_partition.txt").write_text("".join(f"{n} {s}\n" for n, s in zip(names, (0, 0, 1, 2))))
    monkeypatch.setattr(datasets.CelebA, "file_list", [
        (fid, md5(base / name) if not name.endswith(".zip") else h, name)
        for fid, h, name in datasets.CelebA.file_list])
    return tmp_path


def test_celeba_targets_and_splits(celeba_root):
    train = datasets.CelebA(celeba_root)
    assert len(train) == 2 and train.filename == ["000001.jpg", "000002.jpg"]
    assert train.attr_names == ["5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive"]
    image, attr = train[1]
    assert isinstance(image, Image.Image) and image.size == (6, 5)
    assert isinstance(attr, ember.Tensor) and attr.dtype == ember.int64 and attr.tolist() == [0, 0, 1]
    assert [len(datasets.CelebA(celeba_root, split=s)) for s in ("valid", "test", "all", "ALL")] == [1, 1, 4, 4]
    everything = datasets.CelebA(celeba_root, split="all", target_type=["identity", "bbox", "landmarks", "attr"])
    identity, bbox, landmarks, attr = everything[3][1]
    assert identity.dim() == 0 and identity.item() == 9 and identity.dtype == ember.int64
    assert bbox.tolist() == [3, 4, 5, 6] and landmarks.tolist() == [3, 6] and attr.tolist() == [0, 1, 1]
    assert datasets.CelebA(celeba_root, split="test", target_type="identity", target_transform=int)[0][1] == 9
    assert datasets.CelebA(celeba_root, target_type=[])[0][1] is None


def test_celeba_errors(celeba_root, tmp_path):
    with pytest.raises(ValueError, match="Unknown value 'val' for argument split"):
        datasets.CelebA(celeba_root, split="val")
    with pytest.raises(ValueError, match="Unknown value 'age' for argument target_type"):
        datasets.CelebA(celeba_root, target_type="age")
    with pytest.raises(RuntimeError, match="target_transform is specified but target_type is empty"):
        datasets.CelebA(celeba_root, target_type=[], target_transform=int)
    with pytest.raises(RuntimeError, match="Dataset not found at .*celeba \\(missing img_align_celeba/, "
                                           "list_attr_celeba.txt"):
        datasets.CelebA(tmp_path / "missing")
    with open(celeba_root / "celeba" / "identity_CelebA.txt", "a") as f:
        f.write("000005.jpg 1\n")
    with pytest.raises(RuntimeError, match="Checksum mismatch for .*identity_CelebA.txt"):
        datasets.CelebA(celeba_root)


# ---------------------------------------------------------------- VOC

VOC_XML = """<annotation>
  <folder>VOC2012</folder><filename>{id}.jpg</filename>
  <size><width>6</width><height>5</height><depth>3</depth></size>
  <segmented>0</segmented>
  {objects}
</annotation>"""
VOC_OBJECT = ("<object><name>{name}</name><pose>Left</pose><truncated>0</truncated><difficult>0</difficult>"
              "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>{xmax}</xmax><ymax>4</ymax></bndbox></object>")


@pytest.fixture
def voc_root(tmp_path):
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    ids = ["2008_000001", "2008_000002"]
    for k, i in enumerate(ids):
        write_image(str(voc / "JPEGImages" / f"{i}.jpg"), value=50 * k)
        mask = Image.fromarray(np.array([[0, 1, 255]] * 2, dtype=np.uint8), "P")
        mask.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])  # distinct colours keep indices
        os.makedirs(voc / "SegmentationClass", exist_ok=True)
        mask.save(voc / "SegmentationClass" / f"{i}.png")
        objects = "".join(VOC_OBJECT.format(name=n, xmax=3 + j) for j, n in enumerate(["dog", "cat"][:k + 1]))
        os.makedirs(voc / "Annotations", exist_ok=True)
        (voc / "Annotations" / f"{i}.xml").write_text(VOC_XML.format(id=i, objects=objects))
    for sub in ("Segmentation", "Main"):
        os.makedirs(voc / "ImageSets" / sub)
        (voc / "ImageSets" / sub / "train.txt").write_text("\n".join(ids) + "\n")
        (voc / "ImageSets" / sub / "val.txt").write_text(ids[1] + "\n")
    return tmp_path


def test_voc_segmentation(voc_root):
    ds = datasets.VOCSegmentation(voc_root)
    assert len(ds) == 2 and len(datasets.VOCSegmentation(voc_root, image_set="val")) == 1
    image, mask = ds[0]
    assert image.mode == "RGB" and image.size == (6, 5)
    assert mask.mode == "P" and np.asarray(mask).tolist() == [[0, 1, 255]] * 2
    joint = datasets.VOCSegmentation(voc_root, transforms=lambda im, m: (im.size, np.asarray(m).max()))
    assert joint[1] == ((6, 5), 255)
    assert datasets.VOCSegmentation(voc_root, target_transform=np.asarray)[0][1].shape == (2, 3)
    assert ds.masks == ds.targets and ds.images[0].endswith(os.path.join("JPEGImages", "2008_000001.jpg"))


def test_voc_detection_target_is_the_xml_as_dicts(voc_root):
    ds = datasets.VOCDetection(voc_root, year="2012", image_set="train")
    one, two = ds[0][1], ds[1][1]
    obj = {"name": "dog", "pose": "Left", "truncated": "0", "difficult": "0",
           "bndbox": {"xmin": "1", "ymin": "2", "xmax": "3", "ymax": "4"}}
    assert one == {"annotation": {"folder": "VOC2012", "filename": "2008_000001.jpg",
                                  "size": {"width": "6", "height": "5", "depth": "3"}, "segmented": "0",
                                  "object": [obj]}}
    assert two["annotation"]["object"] == [obj, {**obj, "name": "cat", "bndbox": {**obj["bndbox"], "xmax": "4"}}]


def test_voc_errors(voc_root):
    with pytest.raises(ValueError, match="Unknown value '2013' for argument year"):
        datasets.VOCDetection(voc_root, year="2013")
    with pytest.raises(ValueError, match="Unknown value 'test' for argument image_set"):
        datasets.VOCDetection(voc_root, image_set="test")
    with pytest.raises(RuntimeError, match="Dataset not found at .*VOC2007 \\(missing ImageSets/Main/test.txt\\)"
                                           ".*VOCtest_06-Nov-2007.tar"):
        datasets.VOCDetection(voc_root, year="2007", image_set="test")


# ---------------------------------------------------------------- COCO

@pytest.fixture
def coco_root(tmp_path):
    for k, name in enumerate(["b.jpg", "a.jpg", "c.jpg"]):
        write_image(str(tmp_path / "images" / name), size=(4 + k, 3), value=k, mode="L")
    anns = [{"id": 10, "image_id": 7, "category_id": 1, "bbox": [0, 0, 2, 2], "area": 4, "iscrowd": 0,
             "segmentation": [[0, 0, 2, 0, 2, 2]], "caption": "first"},
            {"id": 11, "image_id": 3, "category_id": 2, "bbox": [1, 1, 1, 1], "area": 1, "iscrowd": 1,
             "caption": "only"},
            {"id": 5, "image_id": 7, "category_id": 2, "bbox": [1, 0, 1, 2], "area": 2, "iscrowd": 0,
             "caption": "second"}]
    images = [{"id": 7, "file_name": "b.jpg"}, {"id": 3, "file_name": "a.jpg"}, {"id": 9, "file_name": "c.jpg"}]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]}))
    return tmp_path, str(path), anns


def test_coco_detection_and_captions(coco_root):
    root, ann_file, anns = coco_root
    ds = datasets.CocoDetection(str(root / "images"), ann_file)
    assert len(ds) == 3 and ds.ids == [3, 7, 9]  # ordered by image id
    image, target = ds[1]
    assert image.mode == "RGB" and image.size == (4, 3)  # stored grey, returned RGB
    assert target == [anns[0], anns[2]] and ds[0][1] == [anns[1]] and ds[2][1] == []
    captions = datasets.CocoCaptions(str(root / "images"), ann_file, transform=lambda im: im.size,
                                     target_transform=len)
    assert captions[1] == ((4, 3), 2) and datasets.CocoCaptions(str(root / "images"), ann_file)[1][1] == \
        ["first", "second"]
    joint = datasets.CocoDetection(str(root / "images"), ann_file, transforms=lambda im, t: (im.size, len(t)))
    assert joint[0] == ((5, 3), 1)


def test_coco_errors(coco_root):
    root, ann_file, _ = coco_root
    with pytest.raises(ValueError, match="Index must be of type integer, got <class 'numpy.int64'> instead."):
        datasets.CocoDetection(str(root), ann_file)[np.int64(0)]
    with pytest.raises(RuntimeError, match="Annotation file not found at .*nope.json"):
        datasets.CocoDetection(str(root), str(root / "nope.json"))
    (root / "bad.json").write_text("{\"annotations\": []}")
    with pytest.raises(RuntimeError, match="bad.json is not a COCO annotation file: expected .*'images' list"):
        datasets.CocoDetection(str(root), str(root / "bad.json"))


# ---------------------------------------------------------------- ImageNet

WNIDS = ["n01440764", "n01443537", "n01484850"]


def imagenet_folders(root, split="train", counts=(2, 1, 3)):
    for wnid, n in zip(WNIDS, counts):
        for k in range(n):
            write_image(str(root / split / wnid / f"{wnid}_{k}.JPEG"), value=k)


def write_devkit(root):
    """A development kit archive: meta.mat with the three leaves plus one inner synset, and
    the validation labels (ILSVRC2012 ids)."""
    data = root / "kit" / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True)
    dtype = [("ILSVRC2012_ID", "O"), ("WNID", "O"), ("words", "O"), ("gloss", "O"), ("num_children", "O")]
    synsets = np.array([(1, WNIDS[0], "tench, Tinca tinca", "a fish", 0),
                        (2, WNIDS[1], "goldfish, Carassius auratus", "a fish", 0),
                        (3, WNIDS[2], "great white shark", "a shark", 0),
                        (1001, "n00000001", "fish", "inner", 3)], dtype=dtype)
    savemat(data / "meta.mat", {"synsets": synsets})
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("3\n1\n")
    archive = root / "ILSVRC2012_devkit_t12.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "kit" / "ILSVRC2012_devkit_t12", arcname="ILSVRC2012_devkit_t12")
    return archive


def test_imagenet_with_devkit(tmp_path, monkeypatch):
    imagenet_folders(tmp_path)
    imagenet_folders(tmp_path, "val", (1, 1, 1))
    archive = write_devkit(tmp_path)
    meta = dict(datasets.imagenet.ARCHIVE_META)
    meta["devkit"] = (archive.name, md5(archive))
    monkeypatch.setattr(datasets.imagenet, "ARCHIVE_META", meta)
    ds = datasets.ImageNet(tmp_path, transform=np.asarray, target_transform=lambda t: -t)
    assert (tmp_path / "meta.bin").is_file()
    assert ds.wnids == WNIDS and ds.wnid_to_idx == {w: i for i, w in enumerate(WNIDS)}
    assert ds.classes == [("tench", "Tinca tinca"), ("goldfish", "Carassius auratus"), ("great white shark",)]
    assert ds.class_to_idx == {"tench": 0, "Tinca tinca": 0, "goldfish": 1, "Carassius auratus": 1,
                               "great white shark": 2}
    assert len(ds) == 6 and ds.targets == [0, 0, 1, 2, 2, 2]
    image, target = ds[3]
    assert image.shape == (5, 6, 3) and target == -2
    wnid_to_classes, val_wnids = datasets.imagenet.load_meta_file(tmp_path)
    assert val_wnids == [WNIDS[2], WNIDS[0]] and wnid_to_classes[WNIDS[2]] == ("great white shark",)
    archive.unlink()  # meta.bin is used from now on
    val = datasets.ImageNet(str(tmp_path), split="val")
    assert len(val) == 3 and val.classes[1] == ("goldfish", "Carassius auratus") and "Split: val" in repr(val)


def test_imagenet_without_devkit_names_classes_by_folder(tmp_path):
    imagenet_folders(tmp_path)
    ds = datasets.ImageNet(tmp_path)
    assert ds.classes == [(w,) for w in WNIDS] and ds.class_to_idx == ds.wnid_to_idx
    assert isinstance(ds[0][0], Image.Image) and ds[0][0].mode == "RGB" and ds[5][1] == 2


def test_imagenet_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="Unknown value 'test' for argument split"):
        datasets.ImageNet(tmp_path, split="test")
    with pytest.raises(RuntimeError, match="Dataset not found at .*train: expected one folder of .JPEG images per "
                                           "WordNet id"):
        datasets.ImageNet(tmp_path)
    archive = write_devkit(tmp_path)
    with open(archive, "ab") as f:
        f.write(b"\0")
    with pytest.raises(RuntimeError, match="Checksum mismatch for .*ILSVRC2012_devkit_t12.tar.gz"):
        datasets.ImageNet(tmp_path)
