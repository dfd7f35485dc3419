# The store's recovery scan and the boot's log lines (App.log_boot: when
# the loop starts, or in the first frame if it has not run). Loaded for the
# call (tbfw.ondemand); the scan comes after App(board), the boot's fullest
# step, which has tbfw.startup and everything the app holds loaded.

from micropython import const

from tbfw.version import VERSION

_PROBLEMS_SHOWN = const(4)  # in info; the last says how many more


def log_boot(app):
    """The store scanned, if it has not been (its notes added to the boot's
    problems), then what the boot found, in the log: the store's scan and
    every problem worked round."""
    board = app.board
    report = app.store_report
    if report is None:
        report = app.store_report = app.store.scan()
        problems = app._boot_problems
        problems.extend(report["notes"])
        if len(problems) > _PROBLEMS_SHOWN:
            more = len(problems) - (_PROBLEMS_SHOWN - 1)
            app.problems = problems[:_PROBLEMS_SHOWN - 1] + ["%d more in the log" % more]
    board.log("talkbalance %s on %s, boot %d; store: %d kept, %d dropped" % (
        VERSION, app.desc.get("name", "?"), app.boot, report["kept"], len(report["dropped"])))
    for item in report["dropped"]:
        board.log("store-dropped %s: %s" % (item[0], item[1]))
    for text in app._boot_problems:
        board.log("warn-boot %s" % text)
