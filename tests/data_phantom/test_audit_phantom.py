"""Known answers for the phantom source and the volume-source base, from a mutation audit.

What the neighbouring tests leave open: the (z, y, x) order and half-open bounds of a read,
the region ids at known places and how the layout drifts with depth, which random parts
follow the seed, the share of each microstructure class against the region's parameters
(bounds wide enough for any seed), label priority, and the field helpers' stated properties.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

from mtneuro.data.sources import open_source
from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.sources.phantom_fields import WaveField, hash_uniform
from mtneuro.data.sources.phantom_layout import layout_shift, roi_at, roi_block
from mtneuro.data.sources.phantom_objects import big_vessels, cell_bodies, rasterise_big_vessels
from mtneuro.data.sources.phantom_params import RegionLook, fibre_direction
from mtneuro.data.sources.phantom_render import Z_STEP
from mtneuro.data.spec import AXON, CELL, VESSEL
from mtneuro.errors import ConfigError

#: A point of each region (roi id -> (y, x)) over 60 px inside it at the traced slice, so the
#: layout's drift (at most 10 px in y, 23 in x) keeps it inside at every depth.
INSIDE = {1: (718, 5098), 2: (560, 3917), 3: (997, 3418), 4: (953, 2514), 5: (926, 1326),
          6: (422, 1442), 7: (610, 770), 8: (1177, 4323)}
VP_BLOCK = ((300, 302), (900, 964), (2480, 2544))


@pytest.fixture(scope="module")
def phantom() -> VolumeSource:
    return open_source("phantom", seed=0)


@pytest.fixture(scope="module")
def phantom_1() -> VolumeSource:
    return open_source("phantom", seed=1)


# ---------------------------------------------------------------- reads: order and bounds


def test_every_channel_reads_as_uint8_z_y_x_with_half_open_bounds(phantom: VolumeSource) -> None:
    for channel in phantom.channels:
        block = phantom.read_channel(channel, (10, 13), (700, 705), (2000, 2007))
        assert block.shape == (3, 5, 7) and block.dtype == np.uint8, channel
        assert block.flags.c_contiguous
    # the stop of each axis is its size: the last voxel is readable, one more is not
    corner = phantom.read((719, 720), (1419, 1420), (5804, 5805))
    assert corner.pixel_labels.shape == (1, 1, 1)


@pytest.mark.parametrize(("z", "y", "x", "needle"), [
    ((-1, 2), (0, 4), (0, 4), r"z range -1:2 is outside the phantom volume \(valid z: 0:720\)"),
    ((0, 2), (1415, 1421), (0, 4), r"y range 1415:1421 is outside .*\(valid y: 0:1420\)"),
    ((0, 2), (0, 4), (5800, 5806), r"x range 5800:5806 is outside .*\(valid x: 0:5805\)"),
    ((0, 2), (-3, 4), (0, 4), r"y range -3:4 is outside"),
])
def test_a_read_beyond_the_volume_names_the_axis_and_its_valid_range(
        phantom: VolumeSource, z: tuple[int, int], y: tuple[int, int], x: tuple[int, int],
        needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        phantom.read_channel("roi_labels", z, y, x)


def test_a_request_with_open_axes_spans_them_and_refuses_unknown_channels(
        phantom: VolumeSource) -> None:
    ranges, channels = phantom.check_request([None, (5, 9), None], None, "the phantom")
    assert ranges == ((0, 720), (5, 9), (0, 5805))
    assert channels == ["image", "roi_labels", "pixel_labels"]
    with pytest.raises(ConfigError, match="'labels' is not in the phantom"):
        phantom.check_request([None, None, None], ["labels"], "the phantom")


def test_seeds_up_to_2_31_minus_1_are_taken() -> None:
    assert open_source("phantom", seed=2**31 - 1).describe()["params"] == {"seed": 2**31 - 1}
    with pytest.raises(ConfigError, match=r"\[0, 2\*\*31\)"):
        open_source("phantom", seed=2**31)


def test_the_block_cache_is_keyed_by_position_and_never_shared(phantom: VolumeSource) -> None:
    src = open_source("phantom", seed=0)
    src._renderer = phantom.renderer  # a fresh block cache; the renderer holds no state
    here, there = VP_BLOCK, (VP_BLOCK[0], VP_BLOCK[1], (2544, 2608))  # same shape, moved in x
    first = src.read_channel("pixel_labels", *here)
    got = src.read_channel("pixel_labels", *there)  # rendered afresh, then kept
    moved = got.copy()
    assert not np.array_equal(first, moved)
    assert np.array_equal(moved, phantom.renderer.render(*there, image=False)["pixel_labels"])
    # a caller writing into what it got changes no later read, rendered or cached
    for _ in range(3):
        got[:] = 255
        got = src.read_channel("pixel_labels", *there)
        assert np.array_equal(got, moved)


def test_the_slice_source_hands_out_writable_copies(packaged_data: Path) -> None:
    src = open_source("slice", root=str(packaged_data))
    # whole rows: a view of them would already be contiguous, so nothing else would copy it
    block = src.read_channel("image", (0, 1), (900, 902), (0, 5805))
    expected = block.copy()
    block[:] = 0  # would raise on a view of the read-only slice
    assert np.array_equal(src.read_channel("image", (0, 1), (900, 902), (0, 5805)), expected)


# ---------------------------------------------------------------- region layout


@pytest.mark.parametrize("z", [0, 309, 719])
def test_each_region_id_sits_where_the_real_layout_has_it(phantom: VolumeSource, z: int) -> None:
    for roi, (y, x) in INSIDE.items():
        patch = phantom.read_channel("roi_labels", (z, z + 1), (y - 2, y + 3), (x - 2, x + 3))
        assert (patch == roi).all(), (roi, z)
    # above the tissue's top edge is clear (id 0)
    assert (phantom.read_channel("roi_labels", (z, z + 1), (0, 40), (2000, 2100)) == 0).all()


@pytest.mark.parametrize(("z", "shift"), [
    (309, (0, 0)),  # the traced slice
    (319, (0, 1)),  # x: 40 px over the 720 slices, rint(10 / 18) = 1
    (489, (7, 10)),  # a quarter depth below: y rint(10 sin(pi / 4)) = 7
    (669, (10, 20)),  # half the depth below: the half sine's top
    (0, (-10, -17)),
])
def test_the_layout_drifts_by_the_stated_shift(z: int, shift: tuple[int, int]) -> None:
    dy, dx = layout_shift(z)
    assert (int(dy), int(dx)) == shift


def test_slice_z_shows_the_traced_map_moved_by_its_drift(phantom: VolumeSource) -> None:
    # around the corpus callosum's left edge, where regions meet in both y and x
    y, x = (1150, 1250), (4200, 4400)
    deep = phantom.read_channel("roi_labels", (669, 670), y, x)[0]
    traced = phantom.read_channel("roi_labels", (309, 310), (y[0] + 10, y[1] + 10),
                                  (x[0] + 20, x[1] + 20))[0]
    assert len(np.unique(deep)) > 1 and np.array_equal(deep, traced)
    assert not np.array_equal(deep, phantom.read_channel("roi_labels", (309, 310), y, x)[0])


def test_a_deep_roi_read_equals_its_slices_read_one_by_one() -> None:
    y, x = (1200, 1204), (4230, 4290)
    whole = roi_block((0, 720), y, x)
    slices = np.stack([roi_block((z, z + 1), y, x)[0] for z in range(720)])
    assert len(np.unique(whole[:, 0, :], axis=0)) > 10  # the edge moves through the block
    assert np.array_equal(whole, slices)


def test_roi_at_rounds_points_to_the_nearest_voxel() -> None:
    z, y, x = (669, 670), (1150, 1250), (4200, 4400)
    block = roi_block(z, y, x)[0]
    yy, xx = np.meshgrid(np.arange(*y), np.arange(*x), indexing="ij")
    for offset in (-0.4, 0.4):
        points = np.stack([np.full(yy.size, z[0] + offset), yy.ravel() + offset,
                           xx.ravel() + offset], axis=1)
        assert np.array_equal(roi_at(points).reshape(block.shape), block), offset


# ---------------------------------------------------------------- microstructure


#: roi id -> (vessel, cell, axon) fractions the phantom is built to: the real annotations'
#: (``phantom_params``' table: cortex, striatum, VP, zona incerta), the thalamus' for TRN
#: with fewer fibres, and the stated choices for the unannotated white matter (dense fibres,
#: few cells) and hypothalamus. Written out, not read from the parameters, so that a changed
#: parameter shows.
FRACTIONS = {1: (0.0166, 0.026, 0.0), 2: (0.019, 0.0327, 0.173), 3: (0.0312, 0.0249, 0.45),
             4: (0.0312, 0.0249, 0.571), 5: (0.0593, 0.0553, 0.0), 6: (0.015, 0.006, 0.85),
             7: (0.04, 0.04, 0.0), 8: (0.015, 0.006, 0.85)}


def test_each_region_holds_its_classes_in_about_the_stated_fractions(
        phantom: VolumeSource) -> None:
    """Five slices of an 80 x 80 patch per region: vessels and cells within a factor 2 of the
    region's fractions, axons within 0.5-1.6 of theirs (wide bundles vary most), none where
    the region has no fibres. Seed 0's patches lie within 0.68-1.47 of every fraction; small
    patches of other seeds spread wider (0.3-2.0 over seeds 1-12), so the bounds are this
    seed's."""
    for roi, (y, x) in INSIDE.items():
        labels = np.concatenate([
            phantom.read_channel("pixel_labels", (z, z + 1), (y - 40, y + 40), (x - 40, x + 40))
            for z in (120, 240, 360, 480, 600)
        ])
        assert set(np.unique(labels)) <= {0, VESSEL, CELL, AXON}
        bounds = ((VESSEL, 0.5, 2.0), (CELL, 0.5, 2.0), (AXON, 0.5, 1.6))
        for (label, low, high), target in zip(bounds, FRACTIONS[roi]):
            share = (labels == label).mean()
            if target == 0:
                assert share == 0, (roi, label)
            else:
                assert low * target <= share <= high * target, (roi, label, share, target)


def test_outside_the_tissue_nothing_is_labelled(phantom: VolumeSource) -> None:
    # the cortex's top edge: a large vessel and cell bodies near the edge reach clear voxels
    z, y, x = (300, 302), (0, 128), (4720, 4880)
    block = phantom.read(z, y, x)
    clear = block.roi_labels == 0
    assert clear.any() and (block.roi_labels == 1).any()
    assert (rasterise_big_vessels(big_vessels(0, y, x), z, y, x) & clear).any()
    assert (block.pixel_labels[clear] == 0).all()
    assert (block.pixel_labels[~clear] == CELL).any()
    # and no cell body is centred there (the clear region's cell fraction is 0)
    centres, _ = cell_bodies(0, z, y, x, lambda c, r: np.zeros(len(r), dtype=bool))
    assert len(centres) > 5 and (roi_at(centres) != 0).all()


def test_fibres_stay_inside_their_region(phantom: VolumeSource) -> None:
    # the corpus callosum's slanted edge with the cortex, which has no fibres: cortex voxels
    # lie inside the callosum's bounding box here
    block = ((300, 302), (400, 600), (4300, 4420))
    roi = phantom.read_channel("roi_labels", *block)
    labels = phantom.read_channel("pixel_labels", *block)
    assert (labels[roi == 8] == AXON).mean() > 0.5
    assert (roi == 1).sum() > 1000 and not (labels[roi == 1] == AXON).any()


def test_large_vessels_are_discs_of_their_radius_around_a_drifting_axis() -> None:
    block = ((360, 371), (30, 80), (40, 80))
    # an upright tube of radius 5 through (y, x) = (50, 60): 81 lattice points lie within 5
    upright = rasterise_big_vessels(np.array([[50.0, 60.0, 0.0, 0.0, 5.0]]), *block)
    assert upright[0].sum() == 81 and upright[0, 20, 20] and upright[0, 25, 20]
    assert not upright[0, 26, 20] and not upright[0, 20, 26]
    # tilted by 0.4 px in y per slice: 10 slices on its axis is at y = 54
    tilted = rasterise_big_vessels(np.array([[50.0, 60.0, 0.4, 0.0, 5.0]]), *block)
    assert tilted[10, 24, 20] and tilted[10, 19, 20] and not tilted[10, 18, 20]
    assert not tilted[0, 26, 20]
    # across the tilt the section stretches by 1 / cos(atan(0.4)): y = 54 + 5 is inside
    assert tilted[10, 29, 20] and not tilted[10, 30, 20]


def test_vessels_win_over_cells_and_axons_and_large_ones_are_dark(phantom: VolumeSource) -> None:
    z, y, x = (300, 302), (230, 280), (5080, 5130)
    block = phantom.read(z, y, x)
    big = rasterise_big_vessels(big_vessels(0, y, x), z, y, x) & (block.roi_labels != 0)
    assert big.sum() > 200
    assert (block.pixel_labels[big] == VESSEL).all()
    # the lumen's gray level (6) after the 1-voxel blur, away from the wall
    core = ndi.binary_erosion(big, structure=np.ones((1, 5, 5), bool))
    assert core.any() and block.image[core].mean() < 30
    # capillaries: where both capillary fields are near zero, whatever else is there
    renderer = phantom.renderer
    grid = [np.arange(*r) for r in VP_BLOCK]
    roi = phantom.read_channel("roi_labels", *VP_BLOCK)
    labels = phantom.read_channel("pixel_labels", *VP_BLOCK)
    width = renderer.capillary_width[roi]
    v1, v2 = (f.grid_coarse_z(*grid, Z_STEP) for f in renderer.capillary)
    capillary = (np.abs(v1) < width) & (np.abs(v2) < width)
    assert capillary.sum() > 50 and (labels[capillary] == VESSEL).all()


# ---------------------------------------------------------------- the seed


def test_the_seed_moves_the_fibre_bundles_not_only_the_cells(
        phantom: VolumeSource, phantom_1: VolumeSource) -> None:
    axons = [s.read_channel("pixel_labels", *VP_BLOCK) == AXON for s in (phantom, phantom_1)]
    # independent bundles half covering a block disagree on about half its voxels
    assert (axons[0] ^ axons[1]).mean() > 0.2


def test_the_seed_moves_the_noise_outside_the_tissue(
        phantom: VolumeSource, phantom_1: VolumeSource) -> None:
    # no structure there: the image is dark background plus seeded noise only
    block = ((300, 301), (0, 40), (2000, 2100))
    images = [s.read_channel("image", *block) for s in (phantom, phantom_1)]
    assert all(im.max() < 40 for im in images)
    assert (images[0] != images[1]).mean() > 0.5


# ---------------------------------------------------------------- field helpers


def test_hash_uniform_is_uniform_in_zero_one_and_follows_the_seed() -> None:
    coords = np.arange(20000)
    u = hash_uniform(5, coords, coords % 7)
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs((u < 0.25).mean() - 0.25) < 0.01
    assert np.array_equal(u, hash_uniform(5, coords, coords % 7))
    assert (u != hash_uniform(6, coords, coords % 7)).mean() > 0.99


def test_a_wave_field_has_unit_variance_and_its_grid_agrees_with_its_points() -> None:
    rng = np.random.default_rng(0)
    field = WaveField.isotropic(rng, 32, (30.0, 70.0))
    points = rng.uniform(0, 2000, (20000, 3))
    assert 0.85 < (field.points(points) ** 2).mean() < 1.15
    z, y, x = np.arange(3, 6), np.arange(100, 104), np.arange(2000, 2005)
    mesh = np.stack(np.meshgrid(z, y, x, indexing="ij"), axis=-1).reshape(-1, 3)
    np.testing.assert_allclose(field.grid(z, y, x).ravel(), field.points(mesh), atol=1e-9)


def test_coarse_z_fields_are_exact_on_the_lattice_and_linear_between() -> None:
    field = WaveField.isotropic(np.random.default_rng(1), 32, (30.0, 70.0))
    y, x = np.arange(10, 14), np.arange(50, 55)
    exact = field.grid(np.array([8, 12]), y, x)
    coarse = field.grid_coarse_z(np.arange(8, 13), y, x, 4)
    np.testing.assert_allclose(coarse[0], exact[0], atol=1e-5)
    np.testing.assert_allclose(coarse[4], exact[1], atol=1e-5)
    for i, w in ((1, 0.25), (2, 0.5), (3, 0.75)):
        np.testing.assert_allclose(coarse[i], (1 - w) * exact[0] + w * exact[1], atol=1e-5)


@pytest.mark.parametrize(("angle", "elevation", "direction"), [
    (0.0, 0.0, (0.0, 0.0, 1.0)),  # along +x
    (90.0, 0.0, (0.0, -1.0, 0.0)),  # towards -y: up in a slice view
    (0.0, 90.0, (1.0, 0.0, 0.0)),  # straight through z
    (180.0, 30.0, (0.5, 0.0, -np.sqrt(3) / 2)),
])
def test_fibre_directions_are_z_y_x_unit_vectors(angle: float, elevation: float,
                                                 direction: tuple[float, ...]) -> None:
    look = RegionLook(fibre_angle=angle, fibre_elevation=elevation)
    np.testing.assert_allclose(fibre_direction(look), direction, atol=1e-12)
