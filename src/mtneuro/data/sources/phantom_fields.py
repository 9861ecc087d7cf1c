"""Procedural random fields of the phantom, defined at every voxel of the volume.

Two kinds, both functions of absolute voxel coordinates only, so any block of
the volume can be rendered alone and agrees with every other block:

* :class:`WaveField`: a sum of ``J`` plane waves with random wave vectors and
  phases (spectral synthesis of a smooth Gaussian-like field with unit variance).
  Its shape is set by the wave-vector distribution: isotropic for texture and
  capillaries, elongated along a direction for fibre bundles. On a grid it is
  separable, ``Re sum_j Z_j(z) Y_j(y) X_j(x)``, i.e. one real matrix product,
  far cheaper than evaluating trigonometry per voxel.
* :func:`hash_uniform`: white noise from an integer hash of ``(seed, z, y, x)``.
"""

from __future__ import annotations

import numpy as np

_M1, _M2 = np.uint32(0x7FEB352D), np.uint32(0x846CA68B)


def _mix(h: np.ndarray) -> np.ndarray:
    """A 32-bit integer finaliser (xor-shift-multiply), in place on uint32."""
    h ^= h >> np.uint32(16)
    h *= _M1
    h ^= h >> np.uint32(15)
    h *= _M2
    h ^= h >> np.uint32(16)
    return h


def hash_uint32(seed: int, *coords: np.ndarray) -> np.ndarray:
    """Well-mixed uint32 hash of integer coordinate arrays (broadcast together)."""
    h = np.full((), (seed * 0x9E3779B1 + 0x85EBCA6B) & 0xFFFFFFFF, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for c in coords:
            h = _mix(
                h
                ^ (np.asarray(c).astype(np.uint32) * np.uint32(0x9E3779B1) + np.uint32(0x632BE5AB))
            )
    return h


def hash_uniform(seed: int, *coords: np.ndarray) -> np.ndarray:
    """Uniform float32 in [0, 1) per coordinate tuple, deterministic in ``seed``."""
    # top 24 bits: exactly representable, so the result stays below 1
    return (hash_uint32(seed, *coords) >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)


class WaveField:
    """Smooth random field ``f(p) = sqrt(2 / J) * sum_j cos(k_j . p + phi_j)`` (unit variance).

    Args:
        wave_vectors: (J, 3) in radians per voxel, axes (z, y, x).
        phases: (J,) radians.
    """

    def __init__(self, wave_vectors: np.ndarray, phases: np.ndarray) -> None:
        self.k = np.asarray(wave_vectors, dtype=np.float64)
        self.phi = np.asarray(phases, dtype=np.float64)
        self.amplitude = np.sqrt(2.0 / len(self.phi))

    @classmethod
    def isotropic(
        cls, rng: np.random.Generator, n_waves: int, wavelength: tuple[float, float]
    ) -> WaveField:
        """Waves in uniformly random 3D directions, wavelengths (voxels) log-uniform in a range."""
        directions = rng.standard_normal((n_waves, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        lengths = np.exp(rng.uniform(np.log(wavelength[0]), np.log(wavelength[1]), n_waves))
        return cls(directions * (2 * np.pi / lengths)[:, None], rng.uniform(0, 2 * np.pi, n_waves))

    @classmethod
    def fibres(
        cls,
        rng: np.random.Generator,
        n_waves: int,
        direction: np.ndarray,
        across: tuple[float, float],
        along: float,
        spread: float,
    ) -> WaveField:
        """A field of streaks running along ``direction`` (z, y, x).

        Args:
            across: wavelength range across the streaks, voxels (sets bundle width).
            along: typical wavelength along them, voxels (sets bundle length).
            spread: standard deviation of the streak direction, radians.
        """
        d = np.asarray(direction, dtype=np.float64)
        d /= np.linalg.norm(d)
        # orthonormal basis (e1, e2) of the plane across the fibres
        helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        e1 = np.cross(d, helper)
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(d, e1)
        angle = rng.uniform(0, 2 * np.pi, n_waves)
        across_dir = np.cos(angle)[:, None] * e1 + np.sin(angle)[:, None] * e2
        tilt = rng.normal(0.0, spread, n_waves)[:, None]
        across_dir = np.cos(tilt) * across_dir + np.sin(tilt) * d
        k_across = 2 * np.pi / np.exp(rng.uniform(np.log(across[0]), np.log(across[1]), n_waves))
        k_along = 2 * np.pi / along * rng.standard_normal(n_waves)
        k = across_dir * k_across[:, None] + d * k_along[:, None]
        return cls(k, rng.uniform(0, 2 * np.pi, n_waves))

    def grid(self, z: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Field on the grid of absolute coordinates ``z`` x ``y`` x ``x``, float64 (Z, Y, X).

        float64 throughout: coordinates reach thousands of voxels, and a block must
        agree with the same voxels of any larger block to far below a gray level
        whatever summation order the matrix product uses for its shape.
        """
        z, y, x = (np.asarray(a, dtype=np.float64) for a in (z, y, x))
        ez = np.exp(1j * (np.outer(z, self.k[:, 0]) + self.phi))
        ey = np.exp(1j * np.outer(y, self.k[:, 1]))
        ex = np.exp(1j * np.outer(x, self.k[:, 2]))
        zy = (ez[:, None, :] * ey[None, :, :]).reshape(len(z) * len(y), -1)
        # Re(a b) = a.re b.re - a.im b.im as one product over the stacked 2J terms
        left = np.concatenate([zy.real, -zy.imag], axis=1) * self.amplitude
        right = np.concatenate([ex.real, ex.imag], axis=1).T
        return (left @ right).reshape(len(z), len(y), len(x))

    def grid_coarse_z(self, z: np.ndarray, y: np.ndarray, x: np.ndarray, step: int) -> np.ndarray:
        """:meth:`grid` on the absolute slices ``z % step == 0``, linearly interpolated
        in between, as float32 (Z, Y, X): ``step`` times cheaper for fields smooth in
        z, and still a function of absolute coordinates only."""
        z = np.asarray(z, dtype=np.int64)
        first = (z.min() // step) * step
        lattice = np.arange(first, z.max() + step, step)
        needed = np.zeros(len(lattice), dtype=bool)
        index, offset = (z - first) // step, (z - first) % step
        needed[index] = True
        needed[(index + 1)[offset > 0]] = True
        # evaluate only the lattice planes some slice needs (one for a lattice slice)
        planes = np.zeros((len(lattice), len(y), len(x)), dtype=np.float32)
        planes[needed] = self.grid(lattice[needed], y, x)
        out = np.empty((len(z), len(y), len(x)), dtype=np.float32)
        for i, (k, o) in enumerate(zip(index, offset)):
            if o == 0:
                out[i] = planes[k]
            else:
                w = np.float32(o / step)
                np.multiply(planes[k], np.float32(1) - w, out=out[i])
                out[i] += w * planes[k + 1]
        return out

    def points(self, p: np.ndarray) -> np.ndarray:
        """Field at points (N, 3) given as (z, y, x), float64 (N,)."""
        p = np.asarray(p, dtype=np.float64).reshape(-1, 3)
        return self.amplitude * np.cos(p @ self.k.T + self.phi).sum(axis=1)
