# A change of the user config (the config-set request): App.config_set's
# work on the app's state. A rare request, so its code is loaded for it and
# released after it (tbfw.ondemand).

from tbfw import config, session
from tbfw.link import CommandError
from tbfw.wire import E_STORE, E_WOULD_EVICT


def apply(app, changes, evict):
    """Save the changes; the answer says when each applies ("now",
    "next_session" or "next_boot"): a session under way keeps the
    settings it started with (its record's figures use them).
    Store bounds that would make the next save delete more unsynced
    sessions than now are refused ("would-evict", with the count)
    unless the host confirms that count in `evict`."""
    new = config.merge_user(_merged(app.cfg, changes))
    st = app.store
    lost = st.evictions(new["store_max_records"], new["store_max_flash_pct"])
    if lost > st.evictions() and lost > evict:
        raise CommandError(E_WOULD_EVICT, "%d unsynced session%s would be deleted at the next save: "
                           "sync first, or confirm" % (lost, "" if lost == 1 else "s"), {"unsynced": lost})
    if app.conv.state == session.SESSION:
        app.later_config = new  # saved when the session is over
    else:
        try:
            config.save_json(app.board.config_path, new)
        except OSError as exc:
            raise CommandError(E_STORE, "cannot save config: %s" % exc)
    app.cfg = new
    running = app.conv.cfg  # the next session's: boot keys as this boot runs them
    nxt = _merged(new, {})
    for key in config.APPLY_NEXT_BOOT:
        nxt[key] = running[key]
    app.conv.cfg = nxt
    app._apply_display_config()
    applies = {}
    for key in changes:
        applies[key] = "now" if key in config.APPLY_NOW else "next_boot" if key in config.APPLY_NEXT_BOOT else "next_session"
    return {"config": new, "applies": applies}


def _merged(cfg, changes):
    out = {}
    for key in cfg:
        out[key] = cfg[key]
    for key in changes:
        out[key] = changes[key]
    return out
