"""Draw the tablet app's icons (PNG, no image library): python scripts/tablet_icons.py.

A white "C" (Comptoir) with an orange dot, on the app's blue: 192 and 512 px with rounded
corners, and a maskable 512 px one that fills the square and keeps the mark inside the 80 %
safe circle. Written into store_api/tablet/static/icons/.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "store_api" / "tablet" / "static" / "icons"
BLUE = (29, 78, 137)
WHITE = (255, 255, 255)
ORANGE = (242, 159, 5)
SAMPLES = 3  # per axis: anti-aliasing by supersampling


def _png(size: int, pixels: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + row for row in pixels)
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _colour_at(x: float, y: float, maskable: bool) -> tuple[tuple[int, int, int], bool]:
    """Colour of the point (x, y) in [0, 1]², and whether it is inside the icon at all."""
    if not maskable:
        corner = 0.18
        dx = max(corner - x, 0, x - (1 - corner))
        dy = max(corner - y, 0, y - (1 - corner))
        if dx * dx + dy * dy > corner * corner:
            return BLUE, False
    scale = 0.8 if maskable else 1.0  # the maskable mark sits in the safe zone
    cx, cy = (x - 0.5) / scale, (y - 0.5) / scale
    radius = math.hypot(cx, cy)
    angle = math.degrees(math.atan2(cy, cx))
    if 0.2 <= radius <= 0.33 and abs(angle) > 40:
        return WHITE, True
    if math.hypot(cx - 0.2, cy) <= 0.075:
        return ORANGE, True
    return BLUE, True


def draw(size: int, maskable: bool = False) -> bytes:
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            totals = [0, 0, 0, 0]
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) / size
                    y = (py + (sy + 0.5) / SAMPLES) / size
                    colour, inside = _colour_at(x, y, maskable)
                    if inside:
                        totals[0] += colour[0]
                        totals[1] += colour[1]
                        totals[2] += colour[2]
                        totals[3] += 255
            n = SAMPLES * SAMPLES
            alpha = totals[3] // n
            cover = max(totals[3] // 255, 1)
            row += bytes([totals[0] // cover, totals[1] // cover, totals[2] // cover, alpha])
        rows.append(bytes(row))
    return _png(size, rows)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon-192.png").write_bytes(draw(192))
    (OUT / "icon-512.png").write_bytes(draw(512))
    (OUT / "maskable-512.png").write_bytes(draw(512, maskable=True))
    print(f"icons written to {OUT}")


if __name__ == "__main__":
    main()
