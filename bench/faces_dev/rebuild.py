#!/usr/bin/env python3
"""Rebuild faces-dev (300 WIDER FACE validation photos + annotations.json) from the official WIDER FACE download.

faces-dev is the evaluation folder the workbook's numbers come from. Its photos are CC BY-NC-ND, so the repository
holds only their names (`files.txt`, one `event/file.jpg` per line, in the order of annotations.json) and this script.
Download WIDER FACE's validation images (`WIDER_val.zip`) and annotations (`wider_face_split.zip`) from
http://shuoyang1213.me/WIDERFACE/ , unzip both into one folder, then:

    python bench/faces_dev/rebuild.py WIDER_FOLDER OUT_FOLDER

WIDER_FOLDER must hold `WIDER_val/images/<event>/<file>.jpg` and `wider_face_split/wider_face_val_bbx_gt.txt`
(or give them with --images and --gt). OUT_FOLDER receives byte-identical copies of the 300 photos and an
`annotations.json` in the simple layout `facemask evaluate` reads: a list of
`{"image", "width", "height", "faces": [[x, y, w, h], ...], "ignore": [[x, y, w, h], ...]}`.

The conversion is the one faces-dev was made with: WIDER's `x y w h` are kept as they are; boxes WIDER marks
`invalid = 1` go to "ignore", the others to "faces"; boxes with a width or height of 0 or less are dropped; boxes
are clipped to the image (none of the 300 photos needs it). Standard library and Pillow only.
"""
from __future__ import annotations

import argparse, json, os, shutil, sys
from pathlib import Path

FILES = Path(__file__).with_name("files.txt")


def read_wider_gt(gt_txt: Path) -> dict[str, list[list[int]]]:
    "WIDER's `*_bbx_gt.txt` as {event/file.jpg: [[x, y, w, h, blur, expression, illumination, invalid, ...], ...]}."
    lines = gt_txt.read_text().split("\n")
    out, i = {}, 0
    while i < len(lines) and lines[i].strip():
        name, n = lines[i].strip(), int(lines[i + 1])
        rows = [[int(v) for v in lines[i + 2 + k].split()] for k in range(max(n, 1))]  # no face: one line of zeros
        out[name] = rows[:n]
        i += 2 + max(n, 1)
    return out


def convert(rows: list[list[int]], size_wh: tuple[int, int]) -> tuple[list[list[int]], list[list[int]]]:
    "WIDER rows of one photo -> (faces, ignore) boxes [x, y, w, h]: positive size, clipped to the photo."
    W, H = size_wh
    faces, ignore = [], []
    for x, y, w, h, *attrs in rows:
        if w <= 0 or h <= 0: continue
        x1, y1, x2, y2 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if x2 <= x1 or y2 <= y1: continue
        (ignore if attrs[3] == 1 else faces).append([x1, y1, x2 - x1, y2 - y1])  # attrs[3] is "invalid"
    return faces, ignore


def rebuild(images: Path,  # WIDER_val/images
            gt_txt: Path,  # wider_face_val_bbx_gt.txt
            out: Path,  # folder to write
            files: Path = FILES,  # the names to take, one event/file.jpg per line
           ) -> list[dict]:
    "Copy the listed photos into `out` and write its annotations.json; returns the entries."
    from PIL import Image
    names = [n.strip() for n in files.read_text().split("\n") if n.strip()]
    gt = read_wider_gt(gt_txt)
    missing = [n for n in names if n not in gt]
    if missing: sys.exit(f"{gt_txt}: {len(missing)} listed photos have no annotations, e.g. {missing[0]}")
    absent = [n for n in names if not (images / n).is_file()]
    if absent: sys.exit(f"{images}: {len(absent)} listed photos are missing, e.g. {absent[0]}")
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for n in names:
        src, dst = images / n, out / Path(n).name
        tmp = dst.with_name(dst.name + ".part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        with Image.open(dst) as im: size = im.size
        faces, ignore = convert(gt[n], size)
        entries.append({"image": dst.name, "width": size[0], "height": size[1], "faces": faces, "ignore": ignore})
    tmp = out / "annotations.json.part"
    tmp.write_text(json.dumps(entries, indent=1))
    os.replace(tmp, out / "annotations.json")
    return entries


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Rebuild faces-dev from the official WIDER FACE validation download.")
    p.add_argument("wider", type=Path, nargs="?", help="folder with WIDER_val/ and wider_face_split/")
    p.add_argument("out", type=Path, help="folder to write the 300 photos and annotations.json to")
    p.add_argument("--images", type=Path, help="WIDER_val/images folder (default: WIDER/WIDER_val/images)")
    p.add_argument("--gt", type=Path, help="wider_face_val_bbx_gt.txt (default: WIDER/wider_face_split/...)")
    a = p.parse_args(argv)
    if a.wider is None and (a.images is None or a.gt is None): p.error("give WIDER, or both --images and --gt")
    images = a.images or a.wider / "WIDER_val" / "images"
    gt = a.gt or a.wider / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    for path in (images, gt):
        if not path.exists(): sys.exit(f"{path}: not found (unzip WIDER_val.zip and wider_face_split.zip there)")
    entries = rebuild(images, gt, a.out)
    n_faces = sum(len(e["faces"]) for e in entries)
    n_ignore = sum(len(e["ignore"]) for e in entries)
    print(f"{a.out}: {len(entries)} photos, {n_faces} faces, {n_ignore} ignore boxes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
