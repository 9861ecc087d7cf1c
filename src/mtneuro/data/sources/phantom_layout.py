"""Region layout of the phantom: region ids painted from polygons traced on the real volume.

The polygons were traced at 1/4 resolution from the published region annotation
of slice z = 309 (nerdslab/xray-thc, ``images/Brain-Area-Annos-compressed.png``,
registered onto ``xray_slice/slice_z309.png`` by normalised cross-correlation:
scale 2.56 px per figure pixel, offset x 909, y 343), extended outwards to the
tissue outline (traced from the slice, gray value > 45 after a 6 px Gaussian
blur), then simplified to within 12 px. Painting them reproduces the traced map
on 99 % of the pixels; every published box (sub-volume A) lies wholly in its
region at z = 309.

Regions move slightly with depth (:func:`layout_shift`): the map at slice ``z``
is the traced map shifted by a few pixels, so region boundaries are 3D surfaces
rather than vertical walls, while the published boxes stay inside their
regions over the task depth ``[110, 470)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LAYOUT_SHAPE = (1420, 5805)
LAYOUT_Z = 309
#: Drift of the layout with depth, pixels: y at most ``DRIFT_Y`` (a half sine), x ``2 * DRIFT_X``
#: over the whole depth, linear (-17 at z 0 to +23 at z 719; 0 at :data:`LAYOUT_Z`).
DRIFT_Y, DRIFT_X = 10, 20
VOLUME_DEPTH = 720

#: (roi id, polygon vertices (x, y) at resolution 0), in painting order: the tissue
#: outline first (outside it is id 0, clear), then regions from the largest to the
#: thinnest so that thin bands (TRN, corpus callosum) are painted last.
# fmt: off
POLYGONS: tuple[tuple[int, tuple[tuple[int, int], ...]], ...] = (
    (0, (  # tissue outline
        (5552,1394), (5364,1370), (5344,1378), (5268,1362), (5212,1366), (5172,1358), (5140,1370),
        (5044,1362), (5024,1370), (5008,1358), (4984,1362), (4944,1350), (4692,1342), (4324,1290),
        (4176,1294), (4148,1310), (4132,1294), (4052,1290), (4036,1298), (3960,1282), (3916,1294),
        (3816,1290), (3792,1306), (3764,1306), (3728,1322), (3680,1322), (3620,1342), (3592,1382),
        (3560,1354), (3516,1374), (3480,1338), (3464,1338), (3380,1386), (3288,1362), (3264,1342),
        (3236,1338), (3136,1338), (3012,1370), (2956,1370), (2924,1342), (2848,1358), (2628,1366),
        (2248,1358), (1988,1342), (1764,1306), (1680,1282), (1504,1270), (1252,1238), (1036,1222),
        (972,1226), (952,1218), (928,1226), (660,1214), (436,1218), (376,1186), (348,1182),
        (230,1092), (198,1020), (206,976), (158,928), (166,908), (142,864), (274,752),
        (354,640), (386,572), (438,512), (442,504), (414,480), (402,456), (418,404),
        (432,390), (452,390), (462,400), (446,420), (446,436), (464,454), (514,400),
        (532,362), (544,358), (560,374), (572,370), (628,314), (636,318), (728,234),
        (744,230), (800,258), (876,226), (948,230), (976,222), (1032,250), (1060,230),
        (1096,226), (1108,238), (1152,238), (1172,258), (1200,258), (1336,294), (1524,294),
        (1992,330), (2496,346), (2776,338), (2856,322), (2912,326), (3028,306), (3064,310),
        (3128,286), (3196,290), (3276,266), (3376,266), (3416,250), (3548,238), (3652,210),
        (3748,206), (3840,194), (3868,182), (3912,190), (3980,170), (4040,174), (4140,162),
        (4308,166), (4344,142), (4404,146), (4448,130), (4504,134), (4584,114), (4612,114),
        (4632,126), (4684,102), (4708,106), (4728,94), (4756,98), (4812,82), (5064,74),
        (5072,66), (5144,62), (5192,46), (5264,38), (5516,26), (5556,38), (5588,62),
        (5622,112), (5642,176), (5642,208), (5658,232), (5738,452), (5762,556), (5750,976),
        (5726,1108), (5706,1128), (5726,1148), (5726,1208), (5714,1220), (5726,1240), (5716,1250),
        (5708,1246), (5690,1268), (5710,1292), (5698,1308), (5710,1328), (5700,1338), (5676,1314),
        (5624,1370), (5580,1378),
    )),
    (1, (  # cortex
        (5804,1418), (4376,1418), (4378,700), (4322,368), (4322,0), (5804,-2),
    )),
    (2, (  # striatum
        (4264,1418), (3712,1418), (3710,1188), (3722,1168), (3714,1080), (3610,896), (3618,812),
        (3582,732), (3556,702), (3516,678), (3468,666), (3396,666), (3332,638), (3236,574),
        (2848,354), (2842,0), (4260,-2), (4262,360), (4294,520), (4302,912), (4286,1084),
        (4266,1172),
    )),
    (4, (  # VP
        (3604,1418), (1492,1418), (1490,1192), (1548,1170), (1716,1078), (1856,986), (2036,798),
        (2176,670), (2412,514), (2444,514), (2660,550), (2828,594), (2968,650), (3040,698),
        (3242,868), (3306,940), (3354,1044), (3416,1110), (3452,1118), (3528,1114), (3602,1188),
    )),
    (5, (  # zona incerta
        (1496,1418), (0,1418), (-2,916), (916,914), (1050,748), (1134,600), (1176,562),
        (1220,594), (1284,602), (1540,514), (1546,524), (1482,576), (1482,600), (1584,606),
        (1752,570), (2128,514), (2316,506), (2388,510), (2410,520), (2396,538), (2176,678),
        (1868,986), (1716,1086), (1548,1178), (1504,1190),
    )),
    (7, (  # hypothalamus
        (916,922), (-2,920), (0,-2), (1346,0), (1346,348), (1262,448), (1186,560),
        (1134,612), (1050,760),
    )),
    (6, (  # internal capsule
        (3716,1418), (3598,1416), (3598,1196), (3522,1116), (3490,964), (3430,872), (3400,842),
        (3256,730), (3144,674), (3020,594), (2900,538), (2776,494), (2544,450), (1828,458),
        (1628,494), (1284,610), (1204,594), (1174,564), (1178,552), (1338,348), (1338,0),
        (2848,-2), (2856,350), (3372,650), (3516,670), (3556,694), (3590,732), (3626,812),
        (3618,896), (3722,1080), (3730,1168), (3718,1188),
    )),
    (3, (  # TRN
        (3524,1126), (3452,1126), (3408,1114), (3346,1044), (3302,948), (3266,904), (3184,822),
        (3008,682), (2932,642), (2772,586), (2496,530), (2316,514), (2128,522), (1752,578),
        (1584,614), (1488,614), (1474,600), (1474,576), (1544,514), (1712,466), (1828,450),
        (2544,442), (2776,486), (2900,530), (3020,586), (3144,666), (3276,734), (3364,802),
        (3434,864), (3498,964), (3526,1068),
    )),
    (8, (  # corpus callosum
        (4380,1418), (4258,1416), (4258,1172), (4278,1084), (4294,912), (4286,520), (4254,360),
        (4256,-2), (4330,0), (4330,368), (4386,700), (4390,1088),
    )),
)
# fmt: on


@lru_cache(maxsize=1)
def layout_slice() -> np.ndarray:
    """Region ids of the traced slice, uint8 (1420, 5805); read-only, computed once."""
    from PIL import Image, ImageDraw

    height, width = LAYOUT_SHAPE
    regions = Image.new("L", (width, height), 0)
    tissue = Image.new("L", (width, height), 0)
    for roi, vertices in POLYGONS:
        target = tissue if roi == 0 else regions
        ImageDraw.Draw(target).polygon(vertices, fill=1 if roi == 0 else roi)
    layout = np.asarray(regions, dtype=np.uint8) * np.asarray(tissue, dtype=np.uint8)
    layout.setflags(write=False)
    return layout


def layout_shift(z: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Integer drift (dy, dx) of the layout at slice(s) ``z``; zero at the traced slice.

    x drifts linearly with depth and y along a half sine, both smooth in ``z``.
    """
    t = (np.asarray(z, dtype=np.float64) - LAYOUT_Z) / VOLUME_DEPTH
    dy = np.rint(DRIFT_Y * np.sin(np.pi * t)).astype(np.int64)
    dx = np.rint(2 * DRIFT_X * t).astype(np.int64)
    return dy, dx


def roi_block(z: tuple[int, int], y: tuple[int, int], x: tuple[int, int]) -> np.ndarray:
    """Region ids of a (z, y, x) block of half-open ranges, uint8 (Z, Y, X).

    Coordinates beyond the traced slice repeat its edge (all clear there).
    """
    layout = layout_slice()
    zs = np.arange(*z)
    dy, dx = layout_shift(zs)
    out = np.empty((len(zs), y[1] - y[0], x[1] - x[0]), dtype=np.uint8)
    # consecutive slices share a shift, so gather each distinct shift once
    keys = dy * 100_003 + dx
    for key in np.unique(keys):
        sel = keys == key
        k = int(np.argmax(sel))
        rows = np.clip(np.arange(*y) + dy[k], 0, LAYOUT_SHAPE[0] - 1)
        cols = np.clip(np.arange(*x) + dx[k], 0, LAYOUT_SHAPE[1] - 1)
        out[sel] = layout[np.ix_(rows, cols)]
    return out


def roi_at(points: np.ndarray) -> np.ndarray:
    """Region ids at integer-rounded points (N, 3) given as (z, y, x)."""
    p = np.rint(np.asarray(points, dtype=np.float64)).astype(np.int64)
    dy, dx = layout_shift(p[:, 0])
    rows = np.clip(p[:, 1] + dy, 0, LAYOUT_SHAPE[0] - 1)
    cols = np.clip(p[:, 2] + dx, 0, LAYOUT_SHAPE[1] - 1)
    return layout_slice()[rows, cols]
