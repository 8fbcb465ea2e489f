"""The coding widget of notebook 7: a thin ipywidgets display over a coding session.

Every decision (what is shown, moving, saving, agreement) belongs to
:class:`compendium.classroom.CodingSession`; this module only draws it and
forwards clicks. Each element carries a CSS class starting ``compendium-`` so
the browser test can find it.
"""

from __future__ import annotations

import html

import anywidget
import ipywidgets as widgets
import traitlets
from IPython.display import display

from ..dataset import Dataset
from ..displays import tables
from .exercise import Code
from .session import CodingSession
from .spans import SpanSession

_GREY = "color: #666;"


def _segment_html(session: CodingSession) -> str:
    segment = session.current
    return (
        "<div style='max-width: 60em; line-height: 1.5; border: 1px solid #ccc; "
        "padding: 0.6em 0.9em; border-radius: 4px;'>"
        f"<div style='{_GREY} font-size: 0.9em; white-space: pre-wrap;'>"
        f"{html.escape(segment.before)}</div>"
        "<div style='background: #fff3cd; border-left: 4px solid #E69F00; padding: 0.4em 0.6em; "
        f"margin: 0.4em 0;'><b>{html.escape(segment.segment_id)}</b>: "
        f"{html.escape(segment.text)}</div>"
        f"<div style='{_GREY} font-size: 0.9em; white-space: pre-wrap;'>"
        f"{html.escape(segment.after)}</div></div>"
    )


def _code_box(code: Code) -> widgets.Checkbox:
    """One code's tick box; the name alone fits the column, the id and definition show on hover."""
    box = widgets.Checkbox(value=False, indent=False, description=code.name,
                           tooltip=f"{code.code_id}: {code.definition}",
                           layout=widgets.Layout(width="100%"))
    return box.add_class("compendium-code").add_class(f"compendium-code-{code.code_id}")


class CodingWidget:
    """Segment with context, codes as checkboxes by theme, previous/next, agreement."""

    def __init__(self, session: CodingSession, dataset: Dataset | None = None,
                 coder: str | None = None):
        self.session = session
        self.dataset = dataset
        self.coder = coder
        self._updating = False  # true while the display follows the session, not a click
        self.progress = widgets.HTML().add_class("compendium-progress")
        self.segment = widgets.HTML().add_class("compendium-segment")
        self.status = widgets.HTML().add_class("compendium-status")
        self.boxes: dict[str, widgets.Checkbox] = {}
        self.definitions: list[widgets.HTML] = []
        columns = []
        for theme in session.themes:
            items = [widgets.HTML(f"<b>{html.escape(theme.name)}</b>")]
            for code in theme.codes:
                box = _code_box(code)
                box.observe(self._on_tick(code.code_id), names="value")
                self.boxes[code.code_id] = box
                definition = widgets.HTML(
                    f"<div style='{_GREY} font-size: 0.85em; margin: 0 0 0.4em 1.6em;'>"
                    f"<code>{html.escape(code.code_id)}</code> "
                    f"{html.escape(code.definition)}</div>",
                    layout=widgets.Layout(display="none"))
                self.definitions.append(definition)
                items += [box, definition]
            columns.append(widgets.VBox(items, layout=widgets.Layout(
                width=f"{100 // max(len(session.themes), 1) - 1}%", min_width="16em",
                overflow="visible")))
        self.show_definitions = widgets.ToggleButton(
            value=False, description="Show definitions", icon="book",
            tooltip="Show every code's definition under it (or hover over a code)")
        self.show_definitions.add_class("compendium-definitions")
        self.show_definitions.observe(self._on_definitions, names="value")
        self.previous = widgets.Button(description="Previous", icon="arrow-left")
        self.previous.add_class("compendium-previous")
        self.next = widgets.Button(description="Next", icon="arrow-right")
        self.next.add_class("compendium-next")
        self.previous.on_click(lambda _: self._move(-1))
        self.next.on_click(lambda _: self._move(+1))
        self.agreement_button = widgets.Button(description="Agreement so far",
                                               button_style="info", icon="balance-scale",
                                               layout=widgets.Layout(width="auto"))
        self.agreement_button.add_class("compendium-agreement")
        self.agreement_button.on_click(lambda _: self.show_agreement())
        self.agreement = widgets.Output().add_class("compendium-agreement-output")
        self.root = widgets.VBox([
            self.progress, self.segment,
            widgets.HBox([self.show_definitions]),
            widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.previous, self.next, self.agreement_button]),
            self.status, self.agreement,
        ]).add_class("compendium-coding")
        self.refresh()

    def _on_tick(self, code_id: str):
        def handler(change):
            if self._updating:
                return
            try:
                self.session.set_code(code_id, bool(change["new"]))
            except Exception as err:  # shown to the student, who can fix the folder
                self.status.value = (f"<span style='color: #b00;'>Not saved: "
                                     f"{html.escape(str(err))}</span>")
                return
            self._show_status()
        return handler

    def _on_definitions(self, change) -> None:
        for definition in self.definitions:
            definition.layout.display = "block" if change["new"] else "none"

    def _move(self, step: int) -> None:
        self.session.go_to(self.session.position + step)
        self.refresh()

    def _show_status(self) -> None:
        session = self.session
        where = (f"every click is saved to <code>{html.escape(str(session.path))}</code>"
                 if session.path else "your choices are not saved to a file")
        self.status.value = (f"<span style='{_GREY}'>{session.n_coded} of "
                             f"{len(session.segments)} segments have a code; {where}.</span>")

    def refresh(self) -> None:
        """Show the session's current segment and its choices."""
        session = self.session
        self._updating = True
        try:
            self.progress.value = f"<h3 style='margin: 0.2em 0;'>{session.progress}</h3>"
            self.segment.value = _segment_html(session)
            for code_id, box in self.boxes.items():
                box.value = session.applied(code_id)
            self.previous.disabled = session.at_first
            self.next.disabled = session.at_last
        finally:
            self._updating = False
        self._show_status()

    def show_agreement(self) -> None:
        """Show the agreement table with the shipped coder, computed now."""
        self.agreement.clear_output()
        with self.agreement:
            if self.dataset is None or self.coder is None:
                print("No shipped coder to compare with.")
                return
            table = self.session.agreement(self.dataset, self.coder)
            if table is None:
                print("Apply at least one code first: agreement needs your decisions.")
            else:
                print(self.session.agreement_scope)
                display(labelled_agreement(table, self.dataset, self.coder))


def labelled_agreement(table, dataset: Dataset, coder: str):
    """The agreement table as the paper prints it: code names and worded column headers.

    ``table`` is :meth:`CodingSession.agreement`'s (code ids, ``only_a``...);
    coder A is the shipped ``coder`` and coder B the student.
    """
    shown = tables.agreement_display(table, dataset.codebook)
    return shown.rename(columns={"Units": "Segments", "Both": "Both applied",
                                 "Only A": f"Only {coder}", "Only B": "Only you",
                                 "Neither": "Neither applied"})


def show(session: CodingSession, dataset: Dataset, coder: str,
         headless: bool) -> CodingWidget | None:
    """Display the coding widget, unless nobody is watching (then say so and show nothing)."""
    if headless:
        print("Running headless (the build or the tests): the coding widget is not shown.")
        return None
    widget = CodingWidget(session, dataset, coder)
    display(widget.root)
    return widget


# --- span mode ----------------------------------------------------------------------

# The browser side of the transcript: it draws the text with the marked passages
# highlighted and reports the selection as code-point offsets (JavaScript counts UTF-16
# units, Python code points; Array.from counts code points).
_SELECTOR_ESM = """
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "compendium-transcript";
  box.style.cssText = "white-space: pre-wrap; max-height: 26em; overflow-y: auto; " +
    "max-width: 60em; line-height: 1.5; border: 1px solid #ccc; padding: 0.6em 0.9em; " +
    "border-radius: 4px; user-select: text;";
  const draw = () => {
    const text = Array.from(model.get("text"));
    const marks = model.get("marks");
    const edges = new Set([0, text.length]);
    for (const [s, e] of marks) { edges.add(s); edges.add(e); }
    const cuts = [...edges].sort((a, b) => a - b);
    box.replaceChildren();
    for (let i = 0; i + 1 < cuts.length; i++) {
      const piece = text.slice(cuts[i], cuts[i + 1]).join("");
      const marked = marks.some(([s, e]) => s <= cuts[i] && cuts[i + 1] <= e);
      const node = document.createElement(marked ? "mark" : "span");
      node.textContent = piece;
      box.appendChild(node);
    }
  };
  const report = () => {
    const selection = window.getSelection();
    if (!selection.rangeCount) return;
    const range = selection.getRangeAt(0);
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return;
    const before = document.createRange();
    before.selectNodeContents(box);
    before.setEnd(range.startContainer, range.startOffset);
    const start = Array.from(before.toString()).length;
    const end = start + Array.from(range.toString()).length;
    if (end > start) { model.set("selection", [start, end]); model.save_changes(); }
  };
  box.addEventListener("mouseup", report);
  box.addEventListener("keyup", report);
  model.on("change:text", draw);
  model.on("change:marks", draw);
  draw();
  el.appendChild(box);
}
export default { render };
"""


class TranscriptSelector(anywidget.AnyWidget):
    """The interview's text; selecting some of it sets ``selection`` to its offsets."""

    _esm = _SELECTOR_ESM
    text = traitlets.Unicode("").tag(sync=True)
    selection = traitlets.List([0, 0]).tag(sync=True)
    marks = traitlets.List([]).tag(sync=True)


class SpanWidget:
    """Span mode: select a passage of the interview, tick codes, mark it; every mark is saved."""

    def __init__(self, session: SpanSession):
        self.session = session
        self.selector = TranscriptSelector(text=session.transcript.text)
        self.selector.add_class("compendium-selector")
        self.selector.observe(lambda _: self._show_selection(), names="selection")
        self.selected = widgets.HTML().add_class("compendium-selected")
        self.boxes: dict[str, widgets.Checkbox] = {}
        columns = []
        for theme in session.themes:
            items = [widgets.HTML(f"<b>{html.escape(theme.name)}</b>")]
            for code in theme.codes:
                self.boxes[code.code_id] = _code_box(code)
                items.append(self.boxes[code.code_id])
            columns.append(widgets.VBox(items, layout=widgets.Layout(
                width=f"{100 // max(len(session.themes), 1) - 1}%", min_width="16em")))
        self.mark_button = widgets.Button(description="Mark passage", icon="highlighter",
                                          button_style="info")
        self.mark_button.add_class("compendium-mark")
        self.mark_button.on_click(lambda _: self.mark())
        self.marked = widgets.Select(options=[], rows=6, layout=widgets.Layout(width="60em"))
        self.marked.add_class("compendium-marked")
        self.remove_button = widgets.Button(description="Remove", icon="trash")
        self.remove_button.add_class("compendium-remove")
        self.remove_button.on_click(lambda _: self.remove())
        self.status = widgets.HTML().add_class("compendium-status")
        self.root = widgets.VBox([
            widgets.HTML("<h3 style='margin: 0.2em 0;'>Select a passage, tick its codes, "
                         "press <i>Mark passage</i></h3>"),
            self.selector, self.selected,
            widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap")),
            self.mark_button, self.marked, self.remove_button, self.status,
        ]).add_class("compendium-spans")
        self.refresh()

    def _show_selection(self) -> None:
        start, end = self.selector.selection
        text = self.session.transcript.text[start:end]
        short = text if len(text) <= 160 else text[:75] + " … " + text[-75:]
        self.selected.value = (f"<span style='{_GREY}'>selected {start}-{end}:</span> "
                               f"“{html.escape(short)}”" if end > start else "")

    def mark(self) -> None:
        """Mark the selected passage with the ticked codes (the click on *Mark passage*)."""
        start, end = self.selector.selection
        codes = [c for c, box in self.boxes.items() if box.value]
        try:
            self.session.mark(start, end, codes)
        except Exception as err:  # shown to the student, who can select or tick and retry
            self.status.value = (f"<span style='color: #b00;'>Not marked: "
                                 f"{html.escape(str(err))}</span>")
            return
        for box in self.boxes.values():
            box.value = False
        self.refresh()

    def remove(self) -> None:
        """Remove the passage-code pair chosen in the list."""
        if self.marked.value is not None:
            self.session.unmark(*self.marked.value)
            self.refresh()

    def refresh(self) -> None:
        """Show the marked passages, highlighted in the text and listed."""
        text = self.session.transcript.text
        self.selector.marks = [[s, e] for s, e, _ in self.session.spans]
        self.marked.options = [(f"{s}-{e} {c}: {text[s:e][:60]}", (s, e, c))
                               for s, e, c in self.session.spans]
        where = (f"every mark is saved to <code>{html.escape(str(self.session.path))}</code>"
                 if self.session.path else "your passages are not saved to a file")
        self.status.value = (f"<span style='{_GREY}'>{len(self.session.spans)} passage-code "
                             f"pair(s) marked; {where}.</span>")


def show_spans(session: SpanSession, headless: bool) -> SpanWidget | None:
    """Display the span-mode panel, unless nobody is watching."""
    if headless:
        print("Running headless (the build or the tests): the span panel is not shown.")
        return None
    widget = SpanWidget(session)
    display(widget.root)
    return widget
