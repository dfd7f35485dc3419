# Device entry point: MicroPython runs /main.py after boot. The app runs in
# tbfw.app.main(), which never leaves the board dead at the prompt: a crash
# is logged to /crash.log and the board resets, up to tbfw.crash.LIMIT times
# in a row (docs/board.md, "Crashes").
from tbfw import app

app.main()
