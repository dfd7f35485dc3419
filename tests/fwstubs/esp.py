# Recording stand-in for MicroPython's `esp` module (ESP32 form of osdebug).
LOG_NONE = 0
LOG_ERROR = 1
LOG_WARNING = 2
LOG_INFO = 3
LOG_DEBUG = 4
LOG_VERBOSE = 5

SIM = {"osdebug": []}


def osdebug(uart_no, level=None):
    if uart_no is not None and not isinstance(uart_no, int):
        raise TypeError("uart_no must be None or an int")
    if level is not None and level not in (LOG_NONE, LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_VERBOSE):
        raise ValueError("invalid log level")
    SIM["osdebug"].append((uart_no, level))


def flash_size():
    return 8 * 1024 * 1024
