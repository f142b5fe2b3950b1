import numpy as np
import pytest

from engine.config import GridConfig
from engine.data.patches import axis_starts, content_mask, extract_patches, grid_boxes


@pytest.mark.parametrize(("w", "h"), [(1268, 1038), (257, 255), (100, 700), (50, 40), (512, 512), (1001, 3)])
@pytest.mark.parametrize(("patch", "stride"), [(256, 256), (256, 128), (64, 48)])
def test_grid_covers_every_pixel_with_exact_boxes(w: int, h: int, patch: int, stride: int) -> None:
    boxes = grid_boxes(w, h, patch, stride)
    cover = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        # full-size where the scan allows, clipped only when the scan is smaller
        assert x1 - x0 == min(patch, w) and y1 - y0 == min(patch, h)
        cover[y0:y1, x0:x1] = True
    assert cover.all()


def test_edge_patch_is_shifted_inward() -> None:
    assert axis_starts(600, 256, 256) == [0, 256, 344]
    assert axis_starts(512, 256, 256) == [0, 256]
    assert axis_starts(100, 256, 256) == [0]


def test_small_scan_is_padded_white() -> None:
    cfg = GridConfig(patch=64, stride=64, input_size=64, min_content=0.0)
    px = np.zeros((20, 30, 3), np.float32)  # black (dense) content
    ps = extract_patches(px, cfg)
    assert ps.boxes.tolist() == [[0, 0, 30, 20]]
    arr = ps.arrays[0]
    assert arr.shape == (3, 64, 64)
    assert np.allclose(arr[:, :20, :30], 0.0) and np.allclose(arr[:, 30:, :], 1.0)


def _scene() -> np.ndarray:
    px = np.ones((256, 768, 3), np.float32)  # white
    px[:, 256:512] = 200 / 255  # neutral light-grey conveyor
    px[:, 512:] = 1.0
    px[96:160, 600:700] = (0.9, 0.55, 0.25)  # orange organic object on white
    return px


def test_background_rule_white_and_conveyor() -> None:
    cfg = GridConfig(patch=256, stride=256, input_size=32)
    mask = content_mask(_scene(), cfg)
    assert not mask[:, :512].any()
    assert mask[100, 650] and not mask[10, 650]
    ps = extract_patches(_scene(), cfg)
    assert ps.boxes.tolist() == [[512, 0, 768, 256]] and ps.n_background == 2


def test_dark_and_coloured_pixels_are_content() -> None:
    cfg = GridConfig()
    px = np.ones((2, 3, 3), np.float32)
    px[0, 0] = (0.2, 0.2, 0.2)  # dense, neutral but dark
    px[0, 1] = (0.3, 0.5, 0.9)  # blue metal
    px[0, 2] = (0.78, 0.78, 0.80)  # conveyor grey
    m = content_mask(px, cfg)
    assert m[0, 0] and m[0, 1] and not m[0, 2] and not m[1].any()


def test_channels_one_gives_grey_patches() -> None:
    cfg = GridConfig(patch=64, stride=64, input_size=32, channels=1, min_content=0.0)
    ps = extract_patches(np.random.default_rng(0).random((64, 64, 3), dtype=np.float32), cfg)
    assert ps.arrays.shape == (1, 1, 32, 32)


def test_config_rejects_nonsense() -> None:
    from engine.errors import ConfigError

    with pytest.raises(ConfigError):
        GridConfig(channels=2)
    with pytest.raises(ConfigError):
        GridConfig(patch=4)
