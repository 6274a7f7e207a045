from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input

from trailtui.filter.language import parse
from trailtui.ui.app import PRESETS, TrailApp, pivot_term
from trailtui.ui.screens.help import HelpScreen

from .helpers import list_text, settle


async def test_opens_on_the_demo_newest_first(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lst = app.event_list
        assert lst.total == 58002
        assert lst.cursor == 0
        assert lst.current is not None and lst.current.time.isoformat().startswith(
            "2026-11-20T05:59"
        )
        assert "58,002 events" in str(app.status.render())
        assert app.detail.raw is not None and app.detail.raw["eventID"] == lst.current.event_id
        assert app.focused is lst


async def test_cursor_keys(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lst = app.event_list
        await pilot.press("j", "j", "down")
        assert lst.cursor == 3
        await pilot.press("k", "up")
        assert lst.cursor == 1
        await pilot.press("pagedown")
        page = lst.size.height - 1
        assert lst.cursor == 1 + page
        await pilot.press("pageup")
        assert lst.cursor == 1
        await pilot.press("G")
        await settle(pilot)
        assert lst.cursor == 58001
        assert lst.current is not None  # the last page was fetched on demand
        assert lst.current.time.isoformat().startswith("2026-11-06")
        await pilot.press("g")
        assert lst.cursor == 0
        await pilot.press("end")
        assert lst.cursor == 58001
        await pilot.press("home")
        assert lst.cursor == 0


async def test_filter_bar_applies_and_reports_errors(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"name:StopInstances resource:i-0badc0ffee0000001")
        await pilot.press("escape")  # close completion only
        app.bar.input.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.event_list.total == 1
        assert app.focused is app.event_list
        row = app.event_list.current
        assert row is not None and row.principal == "SkeddlyScheduler/skeddly-7f3a2c1e"
        await pilot.press("slash", "ctrl+a")
        app.bar.input.value = "nmae:x"
        await pilot.press("enter")
        await pilot.pause()
        assert app.bar.has_class("-error")
        assert "unknown field" in str(app.query_one("#filter-error").render())
        assert app.event_list.total == 1  # the old result stays


async def test_completion_offers_sessions_with_counts(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"user:skeddly-")
        await settle(pilot)
        assert app.bar.completing
        labels = [label for _, label, _ in app.bar.options]
        assert labels and all(label.startswith("skeddly-") for label in labels)
        assert all(count.replace(",", "").isdigit() for _, _, count in app.bar.options)
        await pilot.press("down", "enter")  # arrows + Enter take the suggestion
        assert app.bar.input.value == "user:" + labels[1]
        await pilot.press("enter")
        await settle(pilot)
        assert app.event_list.total and app.event_list.total > 0
        # field names complete too
        await pilot.press("slash", "ctrl+e", "space", "r", "e")
        await pilot.pause()
        assert {i for i, _, _ in app.bar.options} >= {"region:", "resource:", "readonly:"}
        await pilot.press("tab")
        assert app.bar.input.value.endswith(" resource:")


async def test_completion_offers_the_records_paths_and_their_values(
    make_app: Callable[..., TrailApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"(requestParameters.instancesSet.items.inst")
        path = "requestParameters.instancesSet.items.instanceId:"
        for _ in range(100):
            await pilot.pause(0.05)
            if any(i == path for i, _, _ in app.bar.options):
                break
        opts = {i: count for i, _, count in app.bar.options}
        assert path in opts and "of the newest" in opts[path]
        await pilot.press("tab")
        assert app.bar.input.value == "(" + path
        await pilot.press(*"i-0badc")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.bar.options and app.bar.token and app.bar.token.field != "":
                break
        labels = [label for _, label, _ in app.bar.options]
        assert labels and all(label.startswith("i-0badc") for label in labels)
        await pilot.press("tab", *" OR name:ConsoleLogin)", "enter")
        await settle(pilot)
        assert app.event_list.total and app.event_list.total > 0
        assert not app.bar.has_class("-error")


async def test_tab_enter_detail_copy_and_pivot(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter="name:StopInstances resource:i-0badc0ffee0000001")
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        tree = app.detail.event_tree
        assert app.focused is tree
        # walk to sourceIPAddress
        for _ in range(60):
            cur = tree.current
            if cur is not None and cur.path == ("sourceIPAddress",):
                break
            await pilot.press("down")
        assert tree.current is not None and tree.current.path == ("sourceIPAddress",)
        await pilot.press("y")
        assert copied[-1] == "203.0.113.66"
        await pilot.press("Y")
        assert '"eventName": "StopInstances"' in copied[-1]
        await pilot.press("p")
        await settle(pilot)
        assert app.filter_text.endswith("ip:203.0.113.66")
        assert app.event_list.total == 1
        assert app.focused is app.event_list
        await pilot.press("tab")
        assert app.focused is tree


async def test_detail_tree_json_toggle_and_find(make_app: Callable[..., TrailApp]) -> None:
    app = make_app(initial_filter="name:StopInstances resource:i-0badc0ffee0000001")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter", "t")
        assert app.detail.has_class("-json")
        await pilot.press("t")
        assert not app.detail.has_class("-json")
        await pilot.press("f", *"previousState", "enter")
        await pilot.pause()
        await pilot.pause()
        cur = app.detail.event_tree.current
        assert cur is not None and "previousState" in cur.path
        await pilot.press("escape")
        assert not app.detail.has_class("-finding")


async def test_help_lists_every_binding(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {b.id for _, bs in app.binding_groups() for b in bs}
        for pid, *_ in PRESETS:
            assert pid in ids
        assert {
            "list.down",
            "list.page_down",
            "app.quit",
            "detail.copy_value",
            "detail.pivot",
        } <= ids
        await pilot.press("q")
        assert not isinstance(app.screen, HelpScreen)


async def test_window_presets_layout_and_quick_filters(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("w")  # 1h
        await settle(pilot)
        assert app.event_list.total == app.store.count(parse("since:1h", app.now))
        await pilot.press("w", "w", "w", "w")  # back to all
        await settle(pilot)
        assert app.event_list.total == 58002
        await pilot.press("x")
        await settle(pilot)
        assert app.filter_text == "error:*"
        assert app.event_list.total == app.store.count(parse("error:*"))
        await pilot.press("x")
        await settle(pilot)
        assert app.filter_text == ""
        for _, key, _, snippet in PRESETS:
            await pilot.press(key)
            await settle(pilot)
            assert snippet in app.filter_text
            assert app.event_list.total == app.store.count(parse(app.filter_text, app.now))
            await pilot.press(key)
            await settle(pilot)
        main = app.query_one("#main")
        assert main.has_class("-below")  # 120 columns: the detail goes below the list
        await pilot.press("L")
        assert not main.has_class("-below")
        await pilot.press("L")
        assert main.has_class("-below")


async def test_quit_key(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert not app.is_running


async def test_keys_can_be_remapped(make_app: Callable[..., TrailApp], tmp_path: object) -> None:
    import os
    from pathlib import Path

    cfg = Path(os.environ["TRAILTUI_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text('[keys]\n"list.down" = "n"\n')
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        assert app.event_list.cursor == 1


async def test_broken_config_is_reported_not_fatal(make_app: Callable[..., TrailApp]) -> None:
    import os
    from pathlib import Path

    cfg = Path(os.environ["TRAILTUI_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "config.toml").write_text("[keys\n")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.event_list.total == 58002
        assert any("config.toml" in str(n.message) for n in app._notifications)
    assert (cfg / "config.toml").read_text() == "[keys\n"


async def test_command_palette_offers_actions(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Errors", "Copy value", "Pivot", "Window", "Help"} <= titles


def test_pivot_terms() -> None:
    assert pivot_term(("sourceIPAddress",), "1.2.3.4") == "ip:1.2.3.4"
    assert pivot_term(("userIdentity", "accessKeyId"), "ASIAX") == "key:ASIAX"
    assert (
        pivot_term(("userIdentity", "arn"), "arn:aws:sts::1:assumed-role/R/s")
        == "user:arn:aws:sts::1:assumed-role/R/s"
    )
    assert (
        pivot_term(("requestParameters", "instancesSet", "items", 0, "instanceId"), "i-1")
        == "resource:i-1"
    )
    assert pivot_term(("userAgent",), "aws cli") == 'agent:"aws cli"'
    assert pivot_term(("foo",), "x y") == '"x y"'


def test_list_renders_rows(make_app: Callable[..., TrailApp]) -> None:
    del make_app
    assert list_text  # used by other tests


async def test_keys_typed_right_after_slash_go_to_the_filter(
    make_app: Callable[..., TrailApp],
) -> None:
    from textual import events

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # all at once, as a fast typist or a paste over SSH delivers them
        driver = app._driver
        assert driver is not None
        for key, ch in [("slash", "/"), ("e", "e"), ("r", "r"), ("c", "c")]:
            ev = events.Key(key, ch)
            ev.set_sender(app)
            driver.send_message(ev)
        await pilot.pause()
        await pilot.pause()
        assert app.bar.input.value == "erc"
        assert app.screen is app.screen_stack[0]  # e did not open the export screen


async def test_slash_in_a_text_field_is_a_character(make_app: Callable[..., TrailApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"name:/^Stop/", "enter")
        await settle(pilot)
        assert app.filter_text == "name:/^Stop/"
        assert app.event_list.total == app.store.count(app.effective("name:/^Stop/"))


async def test_a_slash_typed_fast_stays_in_its_place(make_app: Callable[..., TrailApp]) -> None:
    """A CIDR or a regex typed fast (or pasted over SSH) arrives as one burst: the / lands
    after the keys before it, not ahead of them (it used to jump to where the cursor was
    when the burst began: 'ab/cd' read '/abcd')."""
    from textual import events

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        driver = app._driver
        assert driver is not None
        for ch in "ip:10.0.0.0/8 name:/^Stop/":
            key = {
                "/": "slash",
                " ": "space",
                ":": "colon",
                ".": "full_stop",
                "^": "circumflex_accent",
            }.get(ch, ch)
            ev = events.Key(key, ch)
            ev.set_sender(app)
            driver.send_message(ev)
        await pilot.pause()
        await pilot.pause()
        assert app.bar.input.value == "ip:10.0.0.0/8 name:/^Stop/"
