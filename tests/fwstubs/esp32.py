# Stand-in for MicroPython's `esp32` module: idf_heap_info(capabilities)
# returns one (total, free, largest free block, minimum free) tuple per
# ESP-IDF heap region with those capabilities. The regions are the classic
# ESP32's internal RAM as MicroPython leaves it (no PSRAM); capabilities
# are ESP-IDF's MALLOC_CAP_* bits, which the port passes through.
HEAP_DATA = 1 << 2   # MALLOC_CAP_8BIT
HEAP_EXEC = 1 << 0   # MALLOC_CAP_EXEC

_DMA = 1 << 3
_INTERNAL = 1 << 11

# (capabilities, total, free, largest, minimum free)
SIM = {"regions": [
    (HEAP_DATA | _DMA | _INTERNAL, 113840, 51200, 30720, 40960),
    (HEAP_DATA | _DMA | _INTERNAL, 15072, 15072, 15072, 15072),
    (HEAP_EXEC | _INTERNAL, 30000, 24000, 24000, 20000),
]}


def idf_heap_info(capabilities):
    if not isinstance(capabilities, int):
        raise TypeError("capabilities must be an int")
    return [r[1:] for r in SIM["regions"] if r[0] & capabilities == capabilities]
