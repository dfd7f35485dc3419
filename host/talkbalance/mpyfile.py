"""Reader of MicroPython .mpy files (version 6): the raw-code tree and the
machine code of native and viper functions.

Written from MicroPython's "MicroPython .mpy files" reference
(docs/reference/mpyfiles.rst). The layout:

    header      'M', version (6), feature byte (architecture << 2 | sub-version),
                bits in a small int
    tables      vuint qstr count, vuint constant-object count, the qstrs, the objects
    raw code    vuint (length << 3 | has-children << 2 | kind), the code,
                for native code its trailer, then (if it has children) a vuint
                count and the children, recursively

A vuint holds 7 bits a byte, most significant group first, the top bit set
on every byte but the last. A qstr is a vuint (length << 1 | static): a
static one is an index into the runtime's table and nothing follows, else
its bytes and a NUL. An object is a type byte, then for a string or bytes a
vuint length, the bytes and a NUL; for an int, float or complex a vuint
length and its text; for a tuple a vuint count and the items; nothing for
the function-table marker, None, False, True and Ellipsis. Kinds: 0
bytecode, 1 native Python (the code is followed by a vuint, the offset of
its prelude), 2 viper and 3 inline assembler (followed by a vuint of scope
flags; assembler adds the argument count and type signature; viper code
linked with read-only data, BSS or relocations adds those, which mpy-cross
never emits for a Python module and which this reader refuses).

Function names live in the module's bytecode, not in the viper code: they
are matched to the source's definitions in order (`named_functions`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from talkbalance.errors import TalkbalanceError

MPY_VERSION = 6
KIND_BYTECODE, KIND_NATIVE, KIND_VIPER, KIND_ASM = 0, 1, 2, 3
KIND_NAMES = {KIND_BYTECODE: "bytecode", KIND_NATIVE: "native", KIND_VIPER: "viper", KIND_ASM: "asm"}
ARCHS = {0: "none", 1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em", 7: "armv7emsp",
         8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc", 12: "rv64imc"}
# Object type bytes, in the order of MicroPython's persistent-object enumeration.
(OBJ_FUN_TABLE, OBJ_NONE, OBJ_FALSE, OBJ_TRUE, OBJ_ELLIPSIS, OBJ_STR, OBJ_BYTES, OBJ_INT, OBJ_FLOAT,
 OBJ_COMPLEX, OBJ_TUPLE) = range(11)
# Scope flags of linked native code (read-only data, BSS, relocations): not emitted by mpy-cross.
_LINKED_FLAGS = 0x0020 | 0x0040 | 0x0080


class MpyError(TalkbalanceError):
    """An .mpy file this reader cannot read."""


@dataclass
class RawCode:
    kind: int
    code: bytes
    offset: int                      # of the code in the file
    scope_flags: int = 0
    children: list[RawCode] = field(default_factory=list)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]


@dataclass
class MpyFile:
    version: int
    sub_version: int
    arch: str
    small_int_bits: int
    qstrs: list[str | int]           # str, or the index of a static qstr
    root: RawCode


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise MpyError(f".mpy file ends early (at byte {self.pos})")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def bytes(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MpyError(f".mpy file ends early ({n} bytes wanted at byte {self.pos})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def vuint(self) -> int:
        value = 0
        for _ in range(10):
            b = self.byte()
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        raise MpyError(f"variable-length integer too long at byte {self.pos}")

    def nul(self) -> None:
        if self.byte() != 0:
            raise MpyError(f"missing NUL terminator at byte {self.pos - 1}")


def _qstr(r: _Reader) -> str | int:
    n = r.vuint()
    if n & 1:
        return n >> 1
    text = r.bytes(n >> 1)
    r.nul()
    return text.decode("utf-8", "replace")


def _obj(r: _Reader, depth: int = 0) -> None:
    if depth > 32:
        raise MpyError("constant tuples nested too deep")
    kind = r.byte()
    if kind in (OBJ_FUN_TABLE, OBJ_NONE, OBJ_FALSE, OBJ_TRUE, OBJ_ELLIPSIS):
        return
    n = r.vuint()
    if kind in (OBJ_STR, OBJ_BYTES):
        r.bytes(n)
        r.nul()
    elif kind in (OBJ_INT, OBJ_FLOAT, OBJ_COMPLEX):
        r.bytes(n)
    elif kind == OBJ_TUPLE:
        for _ in range(n):
            _obj(r, depth + 1)
    else:
        raise MpyError(f"unknown constant object type {kind} at byte {r.pos - 1}")


def _raw_code(r: _Reader, depth: int = 0) -> RawCode:
    if depth > 64:
        raise MpyError("raw code nested too deep")
    head = r.vuint()
    kind, has_children, length = head & 3, bool(head & 4), head >> 3
    offset = r.pos
    rc = RawCode(kind, r.bytes(length), offset)
    if kind == KIND_NATIVE:
        prelude = r.vuint()
        if prelude > length:
            raise MpyError(f"native prelude offset {prelude} beyond its code ({length} bytes)")
    elif kind in (KIND_VIPER, KIND_ASM):
        rc.scope_flags = r.vuint()
        if rc.scope_flags & _LINKED_FLAGS:
            raise MpyError("linked native code (read-only data, BSS or relocations) is not supported")
        if kind == KIND_ASM:
            r.vuint()  # number of positional arguments
            r.vuint()  # type signature
    if has_children:
        for _ in range(r.vuint()):
            rc.children.append(_raw_code(r, depth + 1))
    return rc


def read(data: bytes) -> MpyFile:
    """The whole file: header, tables (checked for form) and the raw-code tree."""
    r = _Reader(bytes(data))
    if r.bytes(1) != b"M":
        raise MpyError("not an .mpy file (no 'M' at the start)")
    version = r.byte()
    if version != MPY_VERSION:
        raise MpyError(f".mpy version {version}; this reader knows version {MPY_VERSION}")
    features = r.byte()
    small_int_bits = r.byte()
    arch = ARCHS.get(features >> 2)
    if arch is None:
        raise MpyError(f"unknown architecture {features >> 2} in the .mpy header")
    n_qstr = r.vuint()
    n_obj = r.vuint()
    qstrs = [_qstr(r) for _ in range(n_qstr)]
    for _ in range(n_obj):
        _obj(r)
    root = _raw_code(r)
    if r.pos != len(r.data):
        raise MpyError(f"{len(r.data) - r.pos} bytes left after the module's raw code")
    return MpyFile(version, features & 3, arch, small_int_bits, qstrs, root)


# --- names from the source ---------------------------------------------------------

@dataclass
class Scope:
    """A definition in the source that compiles to its own raw code."""
    name: str                        # dotted: Class.method, outer.<lambda>
    kind: int                        # expected raw-code kind
    node: ast.AST
    children: list[Scope] = field(default_factory=list)


def _emitter(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    for dec in node.decorator_list:
        if isinstance(dec, ast.Attribute) and isinstance(dec.value, ast.Name) and dec.value.id == "micropython":
            if dec.attr == "viper":
                return KIND_VIPER
            if dec.attr == "native":
                return KIND_NATIVE
            if dec.attr == "asm_xtensa":
                return KIND_ASM
    return KIND_BYTECODE


def _scopes(node: ast.AST, prefix: str) -> list[Scope]:
    """Child scopes of `node`, in the order the compiler meets them."""
    out: list[Scope] = []
    for child in ast.iter_child_nodes(node):
        out += _visit(child, prefix)
    return out


def _visit(child: ast.AST, prefix: str) -> list[Scope]:
    """The scopes `child` makes: itself if it is one (after those of the
    expressions evaluated before it), else those within it."""
    out: list[Scope] = []
    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for sub in child.decorator_list + child.args.defaults + [d for d in child.args.kw_defaults if d]:
            out += _visit(sub, prefix)
        scope = Scope(prefix + child.name, _emitter(child), child)
        for stmt in child.body:
            scope.children += _visit(stmt, scope.name + ".")
        out.append(scope)
    elif isinstance(child, ast.ClassDef):
        for sub in child.decorator_list + child.bases + [k.value for k in child.keywords]:
            out += _visit(sub, prefix)
        scope = Scope(prefix + child.name, KIND_BYTECODE, child)
        for stmt in child.body:
            scope.children += _visit(stmt, scope.name + ".")
        out.append(scope)
    elif isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        label = {ast.Lambda: "<lambda>", ast.ListComp: "<listcomp>", ast.SetComp: "<setcomp>",
                 ast.DictComp: "<dictcomp>", ast.GeneratorExp: "<genexpr>"}[type(child)]
        if isinstance(child, ast.Lambda):
            pre = child.args.defaults + [d for d in child.args.kw_defaults if d]
            body = [child.body]
        else:
            # The first iterable is evaluated outside the comprehension's scope.
            pre = [child.generators[0].iter]
            body = [n for n in ast.iter_child_nodes(child) if n is not child.generators[0]]
            body += [n for n in ast.iter_child_nodes(child.generators[0]) if n is not child.generators[0].iter]
        for sub in pre:
            out += _visit(sub, prefix)
        scope = Scope(prefix + label, KIND_BYTECODE, child)
        for sub in body:
            scope.children += _visit(sub, scope.name + ".")
        out.append(scope)
    else:
        out += _scopes(child, prefix)
    return out


@dataclass
class Function:
    name: str
    kind: int
    code: bytes
    node: ast.FunctionDef


def named_functions(mpy: MpyFile, source: str) -> list[Function]:
    """Every function of the module with its name and machine code, by
    matching the raw-code tree against the source's definitions (kinds
    checked at every node)."""
    tree = ast.parse(source)
    out: list[Function] = []

    def match(scopes: list[Scope], codes: list[RawCode], where: str) -> None:
        if len(scopes) != len(codes):
            raise MpyError(f"{where}: the source defines {len(scopes)} scopes, the .mpy holds {len(codes)}")
        for scope, rc in zip(scopes, codes):
            if scope.kind != rc.kind:
                raise MpyError(f"{scope.name}: the source says {KIND_NAMES[scope.kind]}, "
                               f"the .mpy holds {rc.kind_name} code")
            if isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append(Function(scope.name, rc.kind, rc.code, scope.node))  # type: ignore[arg-type]
            match(scope.children, rc.children, scope.name)

    match(_scopes(tree, ""), mpy.root.children, "module")
    return out
