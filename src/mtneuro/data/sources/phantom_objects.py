"""Discrete objects of the phantom: cell bodies (ellipsoids) and large vessels (tubes).

Objects are drawn per fixed spatial cell with uniforms hashed from
``(seed, cell, slot)``, so the objects near a block are the same whichever block
is asked for; a block renders every object whose extent reaches it. Where
objects overlap, the larger depth inside a cell wins, which does not depend on
the order objects are drawn in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mtneuro.data.sources.phantom_fields import hash_uniform
from mtneuro.data.sources.phantom_layout import roi_at
from mtneuro.data.sources.phantom_params import (
    BIG_VESSEL_CELL,
    BIG_VESSEL_PROBABILITY,
    BIG_VESSEL_RADIUS,
    look_table,
)

Range = tuple[int, int]
CELL_GRID = 32  # side of the spatial cells that own cell bodies, voxels
CELL_SLOTS = 16  # candidate cell bodies per spatial cell
MAX_RADIUS = 8  # no cell semi-axis exceeds this, voxels
_STREAM_CELLS, _STREAM_VESSELS = 101, 202


def _cell_rates() -> np.ndarray:
    """Per roi id: probability that a candidate slot holds a cell body.

    Cells are volume fraction / ellipsoid volume per voxel, raised to make up
    for candidates rejected inside fibre bundles and for voxels vessels take.
    """
    fraction, radius = look_table("cell_fraction"), look_table("cell_radius")
    free = (1.0 - look_table("axon_fraction")) * (1.0 - look_table("vessel_fraction"))
    per_voxel = fraction / (4.0 / 3.0 * np.pi * radius**3) / np.maximum(free, 0.05)
    rate = per_voxel * CELL_GRID**3 / CELL_SLOTS
    if rate.max() > 1:
        raise ValueError(f"cell density too high for {CELL_SLOTS} slots per cell: rates {rate}")
    return rate


_RATES = _cell_rates()
_RADII = look_table("cell_radius")


def cell_bodies(
    seed: int,
    z: Range,
    y: Range,
    x: Range,
    in_bundle: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Cell bodies that reach the block.

    Args:
        in_bundle: ``(centres (N, 3), roi ids (N,)) -> bool (N,)``; cells whose
            centre lies in a fibre bundle are dropped (bundles hold few somata).

    Returns:
        ``(centres (N, 3) float64, quadratic forms (N, 3, 3) float32)``; a voxel
        ``p`` is inside a cell if ``d^T A d <= 1``, ``d = p - c``.
    """
    g = CELL_GRID
    axes = [
        np.arange((lo - MAX_RADIUS) // g, (hi - 1 + MAX_RADIUS) // g + 1) for lo, hi in (z, y, x)
    ]
    cz, cy, cx, slot = (a.ravel() for a in np.meshgrid(*axes, np.arange(CELL_SLOTS), indexing="ij"))
    u = [hash_uniform(seed, _STREAM_CELLS + k, cz, cy, cx, slot) for k in range(8)]
    centres = np.stack([cz, cy, cx], axis=1) * g + np.stack(u[:3], axis=1).astype(np.float64) * g
    roi = roi_at(centres)
    keep = u[3] < _RATES[roi]
    lo = np.array([z[0], y[0], x[0]]) - MAX_RADIUS
    hi = np.array([z[1], y[1], x[1]]) + MAX_RADIUS
    keep &= np.all((centres >= lo) & (centres < hi), axis=1)
    centres, roi, u = centres[keep], roi[keep], [v[keep] for v in u]
    inside = in_bundle(centres, roi)
    centres, roi, u = centres[~inside], roi[~inside], [v[~inside] for v in u]
    # semi-axes: the region's radius times 0.8-1.2 each, a random in-plane angle
    radius = _RADII[roi][:, None] * (0.8 + 0.4 * np.stack(u[4:7], axis=1))
    radius = np.minimum(radius, MAX_RADIUS - 1)
    angle = u[7].astype(np.float64) * np.pi
    rot = np.zeros((len(roi), 3, 3))
    rot[:, 0, 0] = 1.0
    rot[:, 1, 1] = rot[:, 2, 2] = np.cos(angle)
    rot[:, 1, 2], rot[:, 2, 1] = np.sin(angle), -np.sin(angle)
    forms = np.einsum("nki,nk,nkj->nij", rot, 1.0 / radius**2, rot).astype(np.float32)
    return centres, forms


def _stencil(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    o = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    return o[(o**2).sum(axis=1) <= radius**2]


_STENCIL = _stencil(MAX_RADIUS)


def rasterise_cells(
    centres: np.ndarray, forms: np.ndarray, z: Range, y: Range, x: Range
) -> np.ndarray:
    """Depth inside the cell bodies over a block: float32 (Z, Y, X), 1 at a centre,
    falling to 0 at the surface, 0 outside every cell; overlaps keep the larger depth."""
    shape = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
    depth = np.zeros(int(np.prod(shape)), dtype=np.float32)
    origin = np.array([z[0], y[0], x[0]])
    base = np.rint(centres).astype(np.int64)
    # cells in the same slice share the stencil rows that fall inside the block in z,
    # so a thin block only visits the few stencil slices it contains
    for bz in np.unique(base[:, 0]):
        group = np.flatnonzero(base[:, 0] == bz)
        oz = _STENCIL[:, 0]
        offsets = _STENCIL[(oz >= z[0] - bz) & (oz < z[1] - bz)]
        if not len(offsets):
            continue
        c, a = centres[group], forms[group]
        pts = base[group][:, None, :] + offsets[None]  # (N, S, 3) absolute voxels
        d = (pts - c[:, None, :]).astype(np.float32)
        dz, dy, dx = d[..., 0], d[..., 1], d[..., 2]
        # forms only rotate in x/y, so q = A_zz dz^2 + A_yy dy^2 + 2 A_yx dy dx + A_xx dx^2
        q = a[:, None, 0, 0] * dz * dz + a[:, None, 1, 1] * dy * dy
        q += a[:, None, 2, 2] * dx * dx + 2 * a[:, None, 1, 2] * dy * dx
        local = pts - origin
        ok = (q < 1) & np.all((local[..., 1:] >= 0) & (local[..., 1:] < shape[1:]), axis=2)
        flat = np.ravel_multi_index(tuple(local[ok].T), shape)
        np.maximum.at(depth, flat, 1.0 - q[ok])
    return depth.reshape(shape)


def big_vessels(seed: int, y: Range, x: Range) -> np.ndarray:
    """Large vessels reaching the block in x/y: (N, 5) rows ``(y0, x0, ty, tx, radius)``.

    The axis passes through ``(y0, x0)`` at z = 360 and moves by ``(ty, tx)`` per slice.
    """
    g = BIG_VESSEL_CELL
    reach = BIG_VESSEL_RADIUS[1] + 0.4 * 400 + 1  # largest radius plus the largest drift
    gy = np.arange(int((y[0] - reach) // g), int((y[1] + reach) // g) + 1)
    gx = np.arange(int((x[0] - reach) // g), int((x[1] + reach) // g) + 1)
    cy, cx = (a.ravel() for a in np.meshgrid(gy, gx, indexing="ij"))
    u = [hash_uniform(seed, _STREAM_VESSELS + k, cy, cx).astype(np.float64) for k in range(6)]
    present = u[0] < BIG_VESSEL_PROBABILITY
    lo, hi = BIG_VESSEL_RADIUS
    rows = np.stack(
        [
            (cy + u[1]) * g,
            (cx + u[2]) * g,
            0.8 * u[3] - 0.4,
            0.8 * u[4] - 0.4,
            lo + (hi - lo) * u[5],
        ],
        axis=1,
    )
    return rows[present]


def rasterise_big_vessels(vessels: np.ndarray, z: Range, y: Range, x: Range) -> np.ndarray:
    """Boolean (Z, Y, X) mask of the large vessels over a block."""
    shape = (z[1] - z[0], y[1] - y[0], x[1] - x[0])
    mask = np.zeros(shape, dtype=bool)
    zs = np.arange(*z, dtype=np.float64)[:, None, None]
    for y0, x0, ty, tx, radius in vessels:
        cy = y0 + ty * (zs[:, 0, 0] - 360.0)
        cx = x0 + tx * (zs[:, 0, 0] - 360.0)
        # the tube's bounding box over the block, clipped to it
        ylo, yhi = (
            int(max(y[0], np.floor(cy.min() - radius - 1))),
            int(min(y[1], np.ceil(cy.max() + radius + 2))),
        )
        xlo, xhi = (
            int(max(x[0], np.floor(cx.min() - radius - 1))),
            int(min(x[1], np.ceil(cx.max() + radius + 2))),
        )
        if ylo >= yhi or xlo >= xhi:
            continue
        dy = np.arange(ylo, yhi, dtype=np.float64)[None, :, None] - cy[:, None, None]
        dx = np.arange(xlo, xhi, dtype=np.float64)[None, None, :] - cx[:, None, None]
        # distance to the tilted axis, measured in the plane perpendicular to it
        along = (dy * ty + dx * tx) / np.sqrt(1.0 + ty * ty + tx * tx)
        inside = dy * dy + dx * dx - along * along <= radius * radius
        mask[:, ylo - y[0] : yhi - y[0], xlo - x[0] : xhi - x[0]] |= inside
    return mask
