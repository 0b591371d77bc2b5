"""Seeded texture fields shared by the tool ops: noise, particles, rays, weave.

A field depends only on its parameters and the image size, never on the batch, so a call styles
every image of a batch with the same snow and the same grain, and a batched result equals the
per-image result. Fields are built once per (parameters, size, device) and cached.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .caching import constant_cache


def _to(t: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    return t.to(device) if str(t.device) != str(device) else t


@constant_cache(256)
def _fbm_cpu(h: int, w: int, seed: int, cells: float, octaves: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    out = torch.zeros(1, 1, h, w)
    amp, total = 1.0, 0.0
    m = min(h, w)
    for o in range(octaves):
        c = cells * 2**o
        gh, gw = max(2, math.ceil(c * h / m) + 1), max(2, math.ceil(c * w / m) + 1)
        grid = torch.from_numpy(rng.random((1, 1, gh, gw), dtype=np.float32))
        out += amp * F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=True)
        total += amp
        amp *= 0.5
    out = out / total
    lo, hi = out.amin(), out.amax()
    return ((out - lo) / (hi - lo + 1e-8)).contiguous()


def fbm(
    h: int, w: int, seed: int, cells: float = 4.0, octaves: int = 4, device="cpu"
) -> torch.Tensor:
    """Fractal value noise ``(1, 1, h, w)`` in [0, 1]; ``cells`` = features across the short side."""
    return _to(_fbm_cpu(h, w, seed, float(cells), octaves), device)


@constant_cache(64)
def _gauss_noise_cpu(h: int, w: int, seed: int, channels: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.standard_normal((1, channels, h, w), dtype=np.float32))


def gaussian_noise(h: int, w: int, seed: int, channels: int = 1, device="cpu") -> torch.Tensor:
    """Standard normal noise ``(1, channels, h, w)``."""
    return _to(_gauss_noise_cpu(h, w, seed, channels), device)


@constant_cache(128)
def _particles_cpu(
    h: int,
    w: int,
    seed: int,
    count: float,
    size: float,
    length: float,
    angle: float,
    jitter: float,
    star: bool,
    groups: int,
    bottom_bias: float,
) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    m = min(h, w)
    n = max(1, int(round(count * h * w / (128 * 128))))
    ys = rng.random(n) ** (1.0 / (1.0 + bottom_bias)) if bottom_bias > 0 else rng.random(n)
    ys = ys * h if bottom_bias >= 0 else (1 - rng.random(n) ** (1.0 / (1.0 - bottom_bias))) * h
    xs = rng.random(n) * w
    depth = rng.uniform(0.45, 1.0, n)  # nearer particles are larger, longer and brighter
    group = rng.integers(0, groups, n)
    ang = np.deg2rad(angle) + rng.normal(0, np.deg2rad(jitter), n)
    seg = length * m * depth
    k = max(1, int(math.ceil(length * m / 0.7)) + 1) if length > 0 else 1
    steps = np.linspace(-0.5, 0.5, k) if k > 1 else np.zeros(1)
    px = (xs[:, None] + np.sin(ang)[:, None] * seg[:, None] * steps[None]).ravel()
    py = (ys[:, None] + np.cos(ang)[:, None] * seg[:, None] * steps[None]).ravel()
    wgt = np.repeat(depth, k)
    gidx = np.repeat(group, k)
    if star:  # a cross through each sparkle
        arm = np.linspace(-1, 1, 7) * size * m * 3
        sx = (xs[:, None] + arm[None]).ravel()
        sy = np.repeat(ys, 7)
        px = np.concatenate([px, sx, np.repeat(xs, 7)])
        py = np.concatenate([py, sy, (ys[:, None] + arm[None]).ravel()])
        wgt = np.concatenate([wgt, np.repeat(depth, 7) * 0.5, np.repeat(depth, 7) * 0.5])
        gidx = np.concatenate([gidx, np.repeat(group, 7), np.repeat(group, 7)])
    imp = np.zeros((groups, h, w), np.float32)
    ix = np.clip(np.round(px).astype(int), 0, w - 1)
    iy = np.clip(np.round(py).astype(int), 0, h - 1)
    inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    np.add.at(imp, (gidx[inside], iy[inside], ix[inside]), wgt[inside])
    sigma = max(0.5, size * m)
    field = _blur_cpu(torch.from_numpy(imp)[None], sigma)
    field = field * (2 * math.pi * sigma**2) / (k if length > 0 else 1) ** 0.5
    return field.clamp(0, 1).contiguous()


def _blur_cpu(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, int(math.ceil(3 * sigma)))
    g = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    g = g / g.sum()
    c = x.shape[1]
    x = F.conv2d(
        F.pad(x, (r, r, 0, 0), mode="constant"), g.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c
    )
    return F.conv2d(
        F.pad(x, (0, 0, r, r), mode="constant"), g.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c
    )


def particles(
    h: int,
    w: int,
    *,
    seed: int,
    count: float,
    size: float,
    length: float = 0.0,
    angle: float = 0.0,
    jitter: float = 0.0,
    star: bool = False,
    groups: int = 1,
    bottom_bias: float = 0.0,
    device="cpu",
) -> torch.Tensor:
    """Alpha maps ``(1, groups, h, w)`` in [0, 1] of ``count`` particles per 128x128 area.

    ``size`` and ``length`` are fractions of the short side; ``angle`` in degrees from vertical
    (0 = falling straight down); ``bottom_bias`` > 0 crowds particles at the bottom, < 0 at the top.
    """
    args = (h, w, seed, float(count), float(size), float(length), float(angle), float(jitter))
    return _to(_particles_cpu(*args, bool(star), int(groups), float(bottom_bias)), device)


@constant_cache(64)
def _rays_cpu(
    h: int, w: int, seed: int, ox: float, oy: float, beams: int, width: float, fade: float
) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    m = min(h, w)
    dx, dy = (xx - ox * w) / m, (yy - oy * h) / m
    theta = np.arctan2(dy, dx)
    dist = np.sqrt(dx**2 + dy**2)
    field = np.zeros((h, w), np.float32)
    for _ in range(beams):
        c = rng.uniform(-np.pi, np.pi)
        d = np.angle(np.exp(1j * (theta - c)))
        field += rng.uniform(0.5, 1.0) * np.exp(-0.5 * (d / (width * rng.uniform(0.5, 1.5))) ** 2)
    if fade > 0:
        field *= np.exp(-dist * fade)
    elif fade < 0:  # strongest far from the origin (speed lines)
        field *= np.clip(dist * -fade - 0.15, 0, 1)
    field /= field.max() + 1e-8
    return torch.from_numpy(field)[None, None].contiguous()


def rays(
    h: int,
    w: int,
    *,
    seed: int,
    origin: tuple[float, float],
    beams: int,
    width: float,
    fade: float,
    device="cpu",
) -> torch.Tensor:
    """Beams radiating from ``origin`` (x, y as fractions; may lie outside), ``(1, 1, h, w)`` in [0, 1]."""
    return _to(
        _rays_cpu(h, w, seed, float(origin[0]), float(origin[1]), beams, float(width), float(fade)),
        device,
    )


@constant_cache(32)
def _coords_cpu(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return yy[None, None].contiguous(), xx[None, None].contiguous()


def coords(h: int, w: int, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates ``(y, x)`` in (0, 1), each ``(1, 1, h, w)``."""
    yy, xx = _coords_cpu(h, w)
    return _to(yy, device), _to(xx, device)


@constant_cache(32)
def _cells_cpu(h: int, w: int, cells: float, kind: str, seed: int) -> tuple[torch.Tensor, int]:
    m = min(h, w)
    step = m / cells
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    if kind == "triangle":
        row = np.floor(yy / step)
        col = np.floor(xx / step)
        fy, fx = yy / step - row, xx / step - col
        flip = (row + col) % 2 == 1
        upper = np.where(flip, fx + fy < 1, fx > fy)
        ids = ((row * (math.ceil(w / step) + 1) + col) * 2 + upper).astype(np.int64)
    elif kind == "voronoi":
        rng = np.random.default_rng(seed)
        n = max(4, int(cells * cells * h * w / m**2))
        pts = rng.random((n, 2)) * np.array([h, w])
        # imported here: scipy.spatial added ~0.5 s to every process that imports the tools
        # (env workers, Ray workers, each command), and only Voronoi cells need it
        from scipy.spatial import cKDTree

        _, nearest = cKDTree(pts).query(np.stack([yy.ravel(), xx.ravel()], 1))
        ids = nearest.reshape(h, w)
    else:
        raise ValueError(f"unknown cell kind {kind!r}; expected 'triangle' or 'voronoi'")
    _, ids = np.unique(ids, return_inverse=True)
    ids = ids.reshape(h, w)
    return torch.from_numpy(ids.astype(np.int64)).view(-1).contiguous(), int(ids.max()) + 1


def cells(
    h: int, w: int, *, cells: float, kind: str, seed: int = 0, device="cpu"
) -> tuple[torch.Tensor, int]:
    """A flat cell-id map ``(h*w,)`` int64 of a triangle or Voronoi tiling, and the cell count."""
    ids, n = _cells_cpu(h, w, float(cells), kind, seed)
    return _to(ids, device), n


@constant_cache(16)
def _lightning_cpu(h: int, w: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)

    def walk(x: float, y: float, heading: float, length: float, width: float, depth: int) -> None:
        steps = max(4, int(length * h / 2))
        for _ in range(steps):
            heading += rng.normal(0, 0.7)
            heading = float(np.clip(heading, -1.2, 1.2))
            nx, ny = x + np.sin(heading) * 2, y + np.cos(heading) * 2
            for f in np.linspace(0, 1, 4):
                ix, iy = int(x + (nx - x) * f), int(y + (ny - y) * f)
                if 0 <= ix < w and 0 <= iy < h:
                    img[iy, ix] = max(img[iy, ix], width)
            x, y = nx, ny
            if depth < 2 and rng.random() < 0.06:
                walk(x, y, heading + rng.choice([-0.8, 0.8]), length * 0.4, width * 0.6, depth + 1)

    walk(rng.uniform(0.3, 0.7) * w, 0.0, rng.normal(0, 0.3), 0.65, 1.0, 0)
    t = torch.from_numpy(img)[None, None]
    return _blur_cpu(t, max(0.5, min(h, w) / 256)).clamp(0, 1).contiguous() * 1.5


def lightning(h: int, w: int, *, seed: int, device="cpu") -> torch.Tensor:
    """A forked lightning bolt from the top of the frame, ``(1, 1, h, w)``."""
    return _to(_lightning_cpu(h, w, seed), device)
