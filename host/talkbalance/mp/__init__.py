"""MicroPython programs that the host runs on the MicroPython unix port."""
