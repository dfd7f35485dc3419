# Device entry point: MicroPython runs /main.py after boot.
# It builds the board and runs the app; all set-up happens in main().
from tbfw import app

app.main()
