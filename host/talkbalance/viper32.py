"""Run the firmware's viper kernels under CPython as a 32-bit ESP32 would.

The MicroPython unix port on x86-64 computes viper ints in 64 bits, so a
test run there cannot see an accumulator that would wrap on the ESP32. This
module rewrites the kernels' syntax tree so that:

- every integer result (binary and unary operators, augmented assignments,
  `int()` casts, function returns) wraps to a signed 32-bit value, as
  Xtensa's 32-bit registers do;
- `ptr8`/`ptr16`/`ptr32` are views over the real buffers whose loads are
  zero-extended (unsigned) and whose stores keep the low 8/16/32 bits;
  `int(ptr)` gives an address below 2^31 and `ptrN(address)` maps it back
  to the buffer (out-of-range accesses raise IndexError);
- every operator result that needed wrapping is counted per function, so a
  test can assert that no accumulator overflowed (as opposed to bit patterns
  that are meant to wrap, such as a load cast with `int()`).

`load("dsp")` returns a module object that stands in for `tbfw.dsp`;
`frontend_module()` imports tbfw.frontend over it, so the whole FrontEnd can
run in CPython with 32-bit kernels.
"""

from __future__ import annotations

import ast
import collections
import importlib.util
import sys
import types
from array import array

from talkbalance import paths

_MASK = 0xFFFFFFFF
_SIGN = 0x80000000
_REGION = 0x01000000  # address space per registered buffer (16 MB)

overflows: collections.Counter[str] = collections.Counter()


def wrap(v: int) -> int:
    """A Python int as a signed 32-bit register value."""
    return ((v + _SIGN) & _MASK) - _SIGN


class _Space:
    """Fake 32-bit address space: each buffer gets a region below 2^31."""

    def __init__(self) -> None:
        self.bases: dict[int, object] = {}
        self.by_id: dict[int, int] = {}

    def base_of(self, buf) -> int:
        key = id(buf)
        if key not in self.by_id:
            base = _REGION * (len(self.bases) + 1)
            if base >= _SIGN:  # recycle: tests make many short-lived buffers
                self.bases.clear()
                self.by_id.clear()
                base = _REGION
            self.by_id[key] = base
            self.bases[base] = buf
        return self.by_id[key]

    def lookup(self, addr: int):
        base = addr - addr % _REGION
        if base not in self.bases:
            raise IndexError(f"address {addr:#x} is in no buffer")
        return self.bases[base], addr - base


_space = _Space()


def _bytes_view(buf):
    if isinstance(buf, (bytes, bytearray, array)):
        return memoryview(buf).cast("B")
    if isinstance(buf, memoryview):
        return buf.cast("B")
    raise TypeError(f"viper pointer over a {type(buf).__name__}")


class Ptr:
    """A viper pointer of `width` bytes over a buffer, from byte `offset`."""

    def __init__(self, width: int, target) -> None:
        self.width = width
        if isinstance(target, Ptr):
            self.buf, self.offset = target.buf, target.offset
        elif isinstance(target, int):
            self.buf, self.offset = _space.lookup(target & _MASK)
        else:
            self.buf, self.offset = target, 0
        self.mem = _bytes_view(self.buf)

    def _span(self, i: int) -> tuple[int, int]:
        start = self.offset + i * self.width
        if start < 0 or start + self.width > len(self.mem):
            raise IndexError(f"viper ptr{8 * self.width} access at byte {start} of a {len(self.mem)}-byte buffer")
        return start, start + self.width

    def __getitem__(self, i: int) -> int:
        a, b = self._span(i)
        return int.from_bytes(self.mem[a:b], "little")  # zero-extended, as on the ESP32

    def __setitem__(self, i: int, v: int) -> None:
        a, b = self._span(i)
        self.mem[a:b] = (v & ((1 << (8 * self.width)) - 1)).to_bytes(self.width, "little")

    def address(self) -> int:
        return _space.base_of(self.buf) + self.offset


def _op(fn: str, v: int) -> int:
    w = wrap(v)
    if w != v:
        overflows[fn] += 1
    return w


def _cast(v) -> int:
    if isinstance(v, Ptr):
        return v.address()
    return wrap(int(v))  # reinterpreting a bit pattern: not an overflow


def _plain_signature(node: ast.FunctionDef) -> None:
    """No decorators, no annotations: a plain Python function."""
    node.decorator_list = []
    node.returns = None
    for a in node.args.args:
        a.annotation = None


def _insert_after_docstring(node: ast.FunctionDef, stmts: list[ast.stmt]) -> None:
    body = node.body
    at = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
    body[at:at] = stmts


def _pointer_parameters(node: ast.FunctionDef) -> list[ast.stmt]:
    """`p = ptr16(p)` for each parameter annotated with a pointer type: viper
    converts such an argument (a buffer, or an address) on entry."""
    out: list[ast.stmt] = []
    for a in node.args.args:
        ann = a.annotation
        if isinstance(ann, ast.Name) and ann.id in ("ptr8", "ptr16", "ptr32"):
            call = ast.Call(func=ast.Name(ann.id, ast.Load()), args=[ast.Name(a.arg, ast.Load())], keywords=[])
            out.append(ast.copy_location(ast.Assign(targets=[ast.Name(a.arg, ast.Store())], value=call), node))
    return out


class _Wrap32(ast.NodeTransformer):
    """Wraps integer results; records the enclosing function for counters."""

    def __init__(self, pointer_parameters: bool = True) -> None:
        self.fn = "?"
        self.pointer_parameters = pointer_parameters  # False: _Addresses did them

    def _wrapped(self, node: ast.expr) -> ast.expr:
        call = ast.Call(func=ast.Name("_op", ast.Load()), args=[ast.Constant(self.fn), node], keywords=[])
        return ast.copy_location(call, node)

    def visit_FunctionDef(self, node: ast.FunctionDef):
        casts = _pointer_parameters(node) if self.pointer_parameters else []
        _plain_signature(node)
        _insert_after_docstring(node, casts)
        self.fn = node.name
        self.generic_visit(node)
        return node

    def visit_BinOp(self, node: ast.BinOp):
        self.generic_visit(node)
        return self._wrapped(node)

    def visit_UnaryOp(self, node: ast.UnaryOp):
        self.generic_visit(node)
        if isinstance(node.op, (ast.USub, ast.Invert)):
            return self._wrapped(node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign):
        self.generic_visit(node)
        target_load = ast.parse(ast.unparse(node.target), mode="eval").body
        value = self._wrapped(ast.BinOp(left=target_load, op=node.op, right=node.value))
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "int":
            node.func = ast.Name("_cast", ast.Load())
        return node

    def visit_Return(self, node: ast.Return):
        self.generic_visit(node)
        if node.value is not None:
            node.value = ast.Call(func=ast.Name("_cast", ast.Load()), args=[node.value], keywords=[])
        return node


def _is_decorator(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == name
            and isinstance(node.value, ast.Name) and node.value.id == "micropython")


_SHIFT = {"ptr8": 0, "ptr16": 1, "ptr32": 2}


class _Addresses(ast.NodeTransformer):
    """For the bytecode runtime: a pointer is its address (an int), and
    `p[i]` indexes the runtime's whole-memory arrays (_M8, _M16, _M32), so a
    pointer made or moved in a loop allocates nothing. The pointer locals
    are the parameters annotated ptr8/ptr16/ptr32 and the names assigned a
    ptrN(...) cast (viper gives a local one type)."""

    def __init__(self, node: ast.FunctionDef) -> None:
        self.kind: dict[str, str] = {}
        for a in node.args.args:
            if isinstance(a.annotation, ast.Name) and a.annotation.id in _SHIFT:
                self.kind[a.arg] = a.annotation.id
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign) and self._cast_of(sub.value):
                for target in sub.targets:
                    if isinstance(target, ast.Name):
                        self.kind[target.id] = self._cast_of(sub.value)

    @staticmethod
    def _cast_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SHIFT:
            return node.func.id
        return None

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if self._cast_of(node):
            node.func = ast.Name("_addr", ast.Load())
        return node

    def visit_Subscript(self, node: ast.Subscript):
        kind = None
        if isinstance(node.value, ast.Name):
            kind = self.kind.get(node.value.id)
        elif self._cast_of(node.value):
            kind = self._cast_of(node.value)
        self.generic_visit(node)
        if kind is None:
            return node
        base: ast.expr = node.value
        if _SHIFT[kind]:
            base = ast.BinOp(base, ast.RShift(), ast.Constant(_SHIFT[kind]))
        index = ast.BinOp(base, ast.Add(), node.slice)
        memory = ast.Name("_M" + kind[3:], ast.Load())
        return ast.copy_location(ast.Subscript(memory, index, node.ctx), node)

    def visit_FunctionDef(self, node: ast.FunctionDef):
        self.generic_visit(node)
        params = [a.arg for a in node.args.args if isinstance(a.annotation, ast.Name) and a.annotation.id in _SHIFT]
        _insert_after_docstring(node, [ast.copy_location(ast.parse(f"{name} = _addr({name})").body[0], node)
                                       for name in params])
        return node


class _ViperOnly(ast.NodeTransformer):
    """Applies _Wrap32 to the viper functions only and drops
    @micropython.native (the same code as bytecode); the rest of the
    module is left as it is. stub: each viper or native function's body
    becomes `return 0` instead (what stays in the heap of a port that keeps
    machine code elsewhere: the function object, not its code); the module
    still imports the runtime, so that the two differ by the bodies alone."""

    def __init__(self, stub: bool = False) -> None:
        self.viper = 0
        self.stub = stub

    def visit_FunctionDef(self, node: ast.FunctionDef):
        viper = any(_is_decorator(d, "viper") for d in node.decorator_list)
        native = any(_is_decorator(d, "native") for d in node.decorator_list)
        self.viper += viper
        if self.stub and (viper or native):
            _plain_signature(node)
            node.body = [ast.Return(ast.Constant(0))]
            return node
        if viper:
            node = _Addresses(node).visit(node)
            return _Wrap32(pointer_parameters=False).visit(node)
        node.decorator_list = [d for d in node.decorator_list if not _is_decorator(d, "native")]
        self.generic_visit(node)
        return node


RUNTIME_MODULE = "viper32rt"  # host/talkbalance/mp/heap32/viper32rt.py, the MicroPython side
RUNTIME_NAMES = ("_M8", "_M16", "_M32", "_addr", "_cast", "_op")  # what a rewritten module imports from it


def bytecode_source(text: str, filename: str = "<firmware>", stub: bool = False) -> str:
    """MicroPython source with every viper function rewritten as bytecode
    with 32-bit semantics (the runtime module supplies the pointers and the
    wrapping), for a MicroPython without a native emitter. Unchanged when
    the module has no viper or native function. stub: viper and native
    function bodies replaced by `return 0` (for weighing them, not running)."""
    if "@micropython.viper" not in text and "@micropython.native" not in text:
        return text
    tree = ast.parse(text, filename)
    rewrite = _ViperOnly(stub)
    tree = rewrite.visit(tree)
    if rewrite.viper:
        imp = ast.parse(f"from {RUNTIME_MODULE} import {', '.join(RUNTIME_NAMES)}").body[0]
        tree.body.insert(0, imp)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _namespace(name: str) -> dict:
    mp = types.SimpleNamespace(viper=lambda f: f, native=lambda f: f, const=lambda v: v)
    return {
        "__name__": name,
        "micropython": mp,
        "const": lambda v: v,
        "ptr8": lambda t: Ptr(1, t),
        "ptr16": lambda t: Ptr(2, t),
        "ptr32": lambda t: Ptr(4, t),
        "_op": _op,
        "_cast": _cast,
    }


def load(module: str = "dsp") -> types.ModuleType:
    """tbfw.<module> with its viper functions rewritten for 32-bit semantics."""
    src_path = paths.firmware_dir() / "tbfw" / f"{module}.py"
    tree = ast.parse(src_path.read_text(), str(src_path))
    tree.body = [n for n in tree.body if not (isinstance(n, ast.Import) and n.names[0].name == "micropython")]
    tree = ast.fix_missing_locations(_Wrap32().visit(tree))
    mod = types.ModuleType(f"tbfw.{module}")
    mod.__dict__.update(_namespace(mod.__name__))
    exec(compile(tree, str(src_path), "exec"), mod.__dict__)  # noqa: S102 (our own firmware source)
    return mod


def frontend_module(dsp: types.ModuleType | None = None) -> types.ModuleType:
    """tbfw.frontend imported under CPython over the 32-bit kernels."""
    import talkbalance.fw  # noqa: F401  (the firmware on sys.path and the micropython stand-in)
    kernels = dsp or load("dsp")
    path = paths.firmware_dir() / "tbfw" / "frontend.py"
    spec = importlib.util.spec_from_file_location("tbfw_frontend_viper32", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("tbfw.dsp")
    sys.modules["tbfw.dsp"] = kernels
    pkg = sys.modules.get("tbfw")
    saved_attr = getattr(pkg, "dsp", None) if pkg else None
    if pkg is not None:
        pkg.dsp = kernels  # type: ignore[attr-defined]
    try:
        spec.loader.exec_module(mod)
    finally:
        if saved is None:
            sys.modules.pop("tbfw.dsp", None)
        else:
            sys.modules["tbfw.dsp"] = saved
        if pkg is not None:
            if saved_attr is None:
                delattr(pkg, "dsp")
            else:
                pkg.dsp = saved_attr  # type: ignore[attr-defined]
    return mod
