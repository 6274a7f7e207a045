"""What the explorer's start defers stays the same to the user: the dialogs' layout is there
however early a dialog opens, the footer's keys look as Textual's Footer makes them, and the
list has the focus from the first frame."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from trailtui.ui.app import SCREENS_CSS, TrailApp
from trailtui.ui.screens.help import HelpScreen

from .helpers import settle


async def test_dialogs_have_their_layout(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.stylesheet.has_source(str(SCREENS_CSS), "")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.styles.align_horizontal == "center"


async def test_a_dialog_opened_before_the_first_window_has_its_layout(
    make_app: Callable[..., TrailApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # as before the first window was on screen: the dialogs' rules not read yet
        del app.stylesheet.source[(str(SCREENS_CSS), "")]
        app.stylesheet.parse()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.styles.align_horizontal == "center"
        assert app.stylesheet.has_source(str(SCREENS_CSS), "")


async def test_footer_keys_as_textual_makes_them(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        footer = app.query_one(Footer)
        keys = list(footer.query(FooterKey))
        assert [k.key for k in keys][:3] == ["q", "question_mark", "slash"]
        for k in keys:
            palette = k.has_class("-command-palette")
            # a binding's key follows the footer's style; the palette's is compact
            assert k.compact is (palette or footer.compact)
            assert k.has_class("-compact") is k.compact
        assert app.focused is app.event_list
