"""A small PNG of the run (Pillow only): wall seconds of ours, the SDK baseline and the floor, per operation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH, ROW, PAD, LABEL = 760, 26, 14, 150
COLOURS = {"ours": (37, 99, 235), "baseline": (220, 38, 38), "floor": (22, 163, 74)}


def draw(result: dict[str, Any], path: Path) -> None:
    """Bars on a linear scale per operation (the baseline can dwarf the others: values are printed)."""
    font = ImageFont.load_default(size=13)
    title_font = ImageFont.load_default(size=15)
    cfg = result["config"]
    sections = [name for name in ("export", "delete") if result.get(name)]
    height = PAD * 3 + 24 + len(sections) * (ROW * 3 + 34) + 20
    image = Image.new("RGB", (WIDTH, height), "white")
    pen = ImageDraw.Draw(image)
    pen.text((PAD, PAD), f"Custom Vision DSR bench: {cfg['projects']} x {cfg['images']} images, {cfg['tps']:g} TPS, "
             f"{cfg['latencyMs']} ms latency", fill="black", font=title_font)
    y = PAD + 30
    for name in sections:
        section = result[name]
        bars = [("ours", section["ours"]["wallSeconds"], "")]
        base = section.get("baseline")
        if base:
            bars.append(("baseline", base["wallSeconds"], " (extrapolated)" if base["extrapolated"] else ""))
        bars.append(("floor", section["floor"]["wallSeconds"], ""))
        scale = (WIDTH - LABEL - PAD * 2 - 150) / max(v for _, v, _ in bars)
        pen.text((PAD, y), name, fill="black", font=title_font)
        y += 22
        for label, value, note in bars:
            pen.text((PAD, y + 5), f"{label}", fill="black", font=font)
            x0 = PAD + LABEL
            pen.rectangle((x0, y + 3, x0 + max(2, int(value * scale)), y + ROW - 5), fill=COLOURS[label])
            pen.text((x0 + max(2, int(value * scale)) + 6, y + 5), f"{value:.1f} s{note}", fill="black", font=font)
            y += ROW
        ratios = section["ratios"]
        parts = [f"ours/floor {ratios['oursOverFloor']:.2f}" if ratios["oursOverFloor"] else ""]
        if ratios.get("baselineOverOurs"):
            speedup = ratios["baselineOverOurs"]
            parts.append(f"speed-up vs baseline {speedup:.1f}x" if speedup >= 1 else
                         f"speed-up vs baseline {speedup:.2f}x (ours slower)")
        pen.text((PAD + LABEL, y), ", ".join(p for p in parts if p), fill=(80, 80, 80), font=font)
        y += 12 + PAD
    image.save(path, optimize=True)
