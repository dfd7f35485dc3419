# Firmware version; the host compares its major number with its own.
VERSION = "0.1.0"
