"Shared fixtures: where the team's evaluation data is, and sample photos on disk."
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def dev_data() -> Path | None:
    "faces-dev: $FACEMASK_DATA, or ../shared/data/faces-dev beside the repository."
    env = os.environ.get("FACEMASK_DATA")
    p = Path(env) if env else ROOT.parent / "shared" / "data" / "faces-dev"
    return p if (p / "annotations.json").is_file() else None


@pytest.fixture
def faces_dev() -> Path:
    p = dev_data()
    if p is None: pytest.skip("needs ../shared/data/faces-dev (the team's WIDER FACE subset), which is not beside this checkout")
    return p


@pytest.fixture
def photo_dir(tmp_path) -> Path:
    "A folder with the two sample photos."
    from facemask.core import sample_image, save_image
    d = tmp_path / "photos"
    save_image(sample_image("astronaut"), d / "astronaut.png")
    save_image(sample_image("grace_hopper"), d / "grace.jpg")
    return d
