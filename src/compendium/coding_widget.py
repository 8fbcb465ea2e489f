"""The coding widget of notebook 7: a thin ipywidgets display over a coding session.

Every decision (what is shown, moving, saving, agreement) belongs to
:class:`compendium.classroom.CodingSession`; this module only draws it and
forwards clicks. Each element carries a CSS class starting ``compendium-`` so
the browser test can find it.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
from IPython.display import display

from . import tables
from .classroom import CodingSession
from .dataset import Dataset

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
                # The name alone fits the column; the id and definition show on hover.
                box = widgets.Checkbox(value=False, indent=False, description=code.name,
                                       tooltip=f"{code.code_id}: {code.definition}",
                                       layout=widgets.Layout(width="100%"))
                box.add_class("compendium-code").add_class(f"compendium-code-{code.code_id}")
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
