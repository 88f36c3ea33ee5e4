"""Small PNGs (Pillow only): wall seconds of ours, the SDK baseline and the floor, per operation, for one run and
for a matrix of round trips and worker counts."""

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
             f"{cfg['latencyMs']} ms latency, rtt {cfg.get('rttMs', 0):g} ms, {cfg.get('workers', 1)} worker(s)",
             fill="black", font=title_font)
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


def draw_matrix(document: dict[str, Any], path: Path) -> None:
    """Per cell (round trip, workers, kind) and operation: bars of ours, the floor and the script, one scale per
    operation; skipped cells say why."""
    font = ImageFont.load_default(size=12)
    title_font = ImageFont.load_default(size=15)
    rows = document["cells"]
    width, label_w, bar_w = 1100, 230, 330
    height = PAD * 3 + 30 + sum((3 * 16 + 14) if not row.get("skipped") else 24 for row in rows) + 20
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    cfg = document["config"]
    pen.text((PAD, PAD), f"Custom Vision DSR bench matrix: {cfg['projects']} x {cfg['images']} images, "
             f"{cfg['tps']:g} TPS (seconds; ours / floor / script)", fill="black", font=title_font)
    scales = {}
    for name in ("export", "delete"):
        values = [row[name][key] or 0 for row in rows if not row.get("skipped")
                  for key in ("oursSeconds", "floorSeconds", "scriptSeconds")]
        scales[name] = (bar_w - 60) / max([*values, 1e-9])
    y = PAD + 32
    for row in rows:
        label = f"{row['kind']} R={row['rttMs']:g} ms" + (
            f" (script {row['scriptRttMs']:g})" if row["scriptRttMs"] != row["rttMs"] else "") + \
            f" N={row['workers']}" + (f" x{row['concurrent']} req" if row["concurrent"] > 1 else "")
        pen.text((PAD, y + 2), label, fill="black", font=font)
        if row.get("skipped"):
            pen.text((PAD + label_w, y + 2), "skipped: " + row["skipped"][:120], fill=(120, 120, 120), font=font)
            y += 24
            continue
        for column, name in enumerate(("export", "delete")):
            x0 = PAD + label_w + column * (bar_w + 40)
            cell = row[name]
            for line, (key, colour) in enumerate((("oursSeconds", "ours"), ("floorSeconds", "floor"),
                                                  ("scriptSeconds", "baseline"))):
                value = cell[key]
                top = y + line * 16
                if value is None:
                    continue
                end = x0 + max(2, int(value * scales[name]))
                pen.rectangle((x0, top + 2, end, top + 13), fill=COLOURS[colour])
                pen.text((end + 4, top + 1), f"{value:.1f}", fill="black", font=font)
        y += 3 * 16 + 14
    pen.text((PAD, height - PAD - 10), "blue: ours, green: floor, red: SDK script; left: export, right: delete",
             fill=(80, 80, 80), font=font)
    image.save(path, optimize=True)
