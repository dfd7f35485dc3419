# Runs one firmware test module inside MicroPython and reports each test.
#
#   micropython runner.py FIRMWARE_DIR TEST_FILE [NAME ...]
#
# Every top-level function named test_* is called in turn (or only the NAMEs
# given). Output lines, read by tests/conftest.py:
#   @@TB PASS name
#   @@TB FAIL name          (the traceback follows on stderr-like lines)
#   @@TB DONE passed failed
import sys


def _main():
    fw_dir, test_file = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    slash = test_file.rfind("/")
    test_dir = test_file[:slash] if slash >= 0 else "."
    name = test_file[slash + 1:]
    if name.endswith(".py"):
        name = name[:-3]
    sys.path.insert(0, test_dir)
    sys.path.insert(0, fw_dir)
    module = __import__(name)
    names = only or sorted(n for n in dir(module) if n.startswith("test_"))
    passed = failed = 0
    for test in names:
        try:
            getattr(module, test)()
        except Exception as exc:  # report any failure, including AssertionError
            failed += 1
            print("@@TB FAIL", test)
            sys.print_exception(exc, sys.stdout)
        else:
            passed += 1
            print("@@TB PASS", test)
    print("@@TB DONE", passed, failed)


_main()
