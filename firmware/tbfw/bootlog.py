# The boot's log lines (App.log_boot, when the loop starts): what the
# store's scan found and every problem worked round. Loaded for the call
# (tbfw.ondemand); apart from tbfw.startup, which is loaded while App builds
# everything else, the boot's fullest moment.

from tbfw.version import VERSION


def log_boot(app):
    """What the boot found, in the log: the store's scan and every problem
    worked round (App.log_boot, when the loop starts)."""
    board = app.board
    report = app.store_report
    board.log("talkbalance %s on %s, boot %d; store: %d kept, %d dropped" % (
        VERSION, app.desc.get("name", "?"), app.boot, report["kept"], len(report["dropped"])))
    for item in report["dropped"]:
        board.log("store-dropped %s: %s" % (item[0], item[1]))
    for text in app._boot_problems:
        board.log("warn-boot %s" % text)
