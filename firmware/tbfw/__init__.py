# talkbalance firmware package. Modules here run on the ESP32 (and on the
# MicroPython unix port for the simulated device and the tests). Nothing in
# this package touches hardware at import time; only board_*.py modules
# import `machine`.
