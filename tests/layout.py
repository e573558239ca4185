"""Layout defects of a drawn figure: texts that overlap, texts outside the figure, raw names.

Draw the figure once (its layout engine runs), record every text artist that was actually drawn
(tick labels outside the view are not), and compare their boxes on the canvas. A defect is

* two drawn texts whose boxes overlap or come closer than ``MIN_GAP_PX`` (a row label that
  touches the first count, a p-value under a legend entry, "1.000.00" of neighbouring panels);
* a text not wholly inside the figure (a plain ``savefig`` cuts it off);
* a text with an underscore (a column or analysis name that reached the reader raw).
"""

from __future__ import annotations

from contextlib import contextmanager

from matplotlib.text import Text
from matplotlib.transforms import Bbox

#: Minimum distance between two texts, in pixels at the figure's dpi (about 1 pt at 72 dpi).
MIN_GAP_PX = 1.0
#: Slack for a text at the figure's edge (anti-aliasing).
EDGE_PX = 0.5


@contextmanager
def _recording(drawn: dict[int, Text]):
    """Record each Text that draws itself (visible, non-empty) while the block runs."""
    original = Text.draw

    def draw(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn[id(self)] = self
        return original(self, renderer)

    Text.draw = draw
    try:
        yield
    finally:
        Text.draw = original


def drawn_texts(fig) -> list[tuple[Text, Bbox]]:
    """Draw ``fig`` and return every text it drew with its box on the canvas (pixels)."""
    renderer = fig.canvas.get_renderer()
    drawn: dict[int, Text] = {}
    with _recording(drawn):
        fig.draw(renderer)
    out = []
    for text in drawn.values():
        box = text.get_window_extent(renderer)
        clip = text.get_clip_box() if text.get_clip_on() else None
        if clip is not None and not box.overlaps(clip):
            continue  # drawn wholly outside its clip box: not seen
        out.append((text, box))
    return out


def _describe(text: Text) -> str:
    where = (text.axes.get_label() or "axes") if text.axes is not None else "figure"
    return f"{text.get_text()!r} ({where})"


def _overlaps(a: Bbox, b: Bbox, gap: float) -> bool:
    return (a.x0 - gap < b.x1 and b.x0 - gap < a.x1) and (a.y0 - gap < b.y1 and b.y0 - gap < a.y1)


def layout_defects(fig, min_gap: float = MIN_GAP_PX) -> list[str]:
    """Every layout defect of ``fig`` in words (empty when there is none)."""
    texts = drawn_texts(fig)
    frame = fig.bbox
    defects = []
    for text, box in texts:
        if "_" in text.get_text():
            defects.append(f"raw name with an underscore: {_describe(text)}")
        if (box.x0 < frame.x0 - EDGE_PX or box.y0 < frame.y0 - EDGE_PX or box.x1 > frame.x1 + EDGE_PX
                or box.y1 > frame.y1 + EDGE_PX):
            defects.append(f"outside the figure: {_describe(text)} at {box.bounds} in {frame.bounds}")
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1:]:
            if _overlaps(box_a, box_b, min_gap):
                defects.append(f"overlap: {_describe(a)} and {_describe(b)}")
    return defects


def assert_clean_layout(fig, min_gap: float = MIN_GAP_PX) -> None:
    """Fail with the list of defects when the figure has any."""
    defects = layout_defects(fig, min_gap)
    assert not defects, "layout defects:\n  " + "\n  ".join(defects)
