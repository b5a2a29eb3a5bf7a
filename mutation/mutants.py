"""The mutants of one module: the small mistakes that let data leak or rules slip.

Operators (each applied once per place, inside functions and methods only):
  flip         a comparison turned around (== / !=, < / >=, > / <=, in / not in, is / is not)
  swap         `and` for `or` and back
  drop         one operand of an `and` / `or` left out
  drop-cond    one condition of a query left out: an argument of where(), filter(), having(),
               and_() or or_()
  not          a `not` left out
  return-none  `return <value>` made `return None`
  no-raise     a `raise` statement deleted
  delete       one statement of a function body replaced by `pass`: a call made for its effect
               (`seen.add(node)`, `db.session.flush()`), an assignment, an augmented assignment,
               or an if / for / while / with / try block as a whole; inside blocks too (their
               bodies, else, finally and handlers), not inside nested functions or classes.
               Not deleted: docstrings, `pass`, `return` and `raise` (return-none and no-raise
               cover them), nested def / class, import, global / nonlocal

A mutant is named by its function and what it changed, never by line number, so the reviewed
list of equivalent mutants survives edits elsewhere in the module."""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

QUERY_CONDITIONS = {"where", "filter", "having", "and_", "or_"}
FLIPS = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
         ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In,
         ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass(frozen=True)
class Mutant:
    module: str        # path relative to the repository, e.g. mentorgroups/services/groups.py
    function: str      # qualified name of the outermost function or method, e.g. Cls.meth
    description: str
    lineno: int
    func_index: int    # which function of the module
    node_index: int    # which node of the function, in ast.walk order
    op: str
    arg: int = 0

    @property
    def id(self) -> str:
        return f"{self.function}: {self.description}"


def _short(node: ast.AST, limit: int = 70) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def functions(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """Outermost functions and the methods of top-level classes, in source order."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            out.extend((f"{node.name}.{item.name}", item) for item in node.body
                       if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef))
    return out


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _is_docstring_or_none(value) -> bool:
    return value is None or (isinstance(value, ast.Constant) and value.value is None)


DELETABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.If, ast.For, ast.AsyncFor,
             ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar, ast.Match, ast.Delete,
             ast.Assert)
BODIES = ("body", "orelse", "finalbody")


def _statements(fn: ast.AST) -> set[int]:
    """The ids of the deletable statements of a function: its body and, recursively, the
    bodies, else, finally and handlers of its blocks; not inside nested functions or classes.
    A docstring (or any lone constant) is an expression statement that does nothing: kept."""
    found: set[int] = set()

    def visit(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            constant = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            bare = isinstance(stmt, ast.AnnAssign) and stmt.value is None
            if isinstance(stmt, DELETABLE) and not constant and not bare:
                found.add(id(stmt))
            for name in BODIES:
                inner = getattr(stmt, name, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    visit(inner)
            for handler in getattr(stmt, "handlers", ()):
                visit(handler.body)
            for case in getattr(stmt, "cases", ()):
                visit(case.body)

    visit(fn.body)
    return found


def _header(stmt: ast.stmt) -> str:
    """A block named by its first line (`for gid in ids: ...`), a simple statement by itself."""
    if isinstance(stmt, ast.Match):
        return f"match {_short(stmt.subject)}: ..."
    if not isinstance(stmt, ast.If | ast.For | ast.AsyncFor | ast.While | ast.With
                      | ast.AsyncWith | ast.Try | ast.TryStar):
        return _short(stmt)
    ellipsis = [ast.Expr(ast.Constant(...))]
    head = copy.copy(stmt)
    head.body = ellipsis
    if hasattr(head, "orelse"):
        head.orelse = []
    if isinstance(stmt, ast.Try | ast.TryStar):
        head.handlers = [ast.ExceptHandler(h.type, h.name, ellipsis) for h in stmt.handlers]
        head.finalbody = ellipsis if stmt.finalbody else []
    return _short(head)


def _points(node: ast.AST):
    """(op, arg, description) for every mutation of this one node."""
    if isinstance(node, ast.Compare):
        for k, op in enumerate(node.ops):
            if type(op) in FLIPS:
                new = copy.deepcopy(node)
                new.ops[k] = FLIPS[type(op)]()
                yield "flip", k, f"`{_short(node)}` -> `{_short(new)}`"
    elif isinstance(node, ast.BoolOp):
        other = "or" if isinstance(node.op, ast.And) else "and"
        yield "swap", 0, f"`{_short(node)}` with `{other}`"
        for k, value in enumerate(node.values):
            yield "drop", k, f"drop `{_short(value)}` from `{_short(node)}`"
    elif isinstance(node, ast.Call) and _call_name(node) in QUERY_CONDITIONS:
        for k, arg in enumerate(node.args):
            if not isinstance(arg, ast.Starred):
                yield "drop-cond", k, f"drop `{_short(arg)}` from {_call_name(node)}()"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not", 0, f"`{_short(node)}` -> `{_short(node.operand)}`"
    elif isinstance(node, ast.Return) and not _is_docstring_or_none(node.value):
        yield "return-none", 0, f"`{_short(node)}` -> `return None`"
    elif isinstance(node, ast.Raise):
        yield "no-raise", 0, f"delete `{_short(node)}`"


def generate(module: str, source: str) -> list[Mutant]:
    tree = ast.parse(source)
    mutants: list[Mutant] = []
    seen: dict[str, int] = {}
    for f_index, (qualname, fn) in enumerate(functions(tree)):
        deletable = _statements(fn)
        for n_index, node in enumerate(ast.walk(fn)):
            points = list(_points(node))
            if id(node) in deletable:
                points.append(("delete", 0, f"delete `{_header(node)}`"))
            for op, arg, description in points:
                key = f"{qualname}: {description}"
                seen[key] = seen.get(key, 0) + 1
                if seen[key] > 1:  # the same change twice in one function: number them
                    description = f"{description} #{seen[key]}"
                mutants.append(Mutant(module, qualname, description, node.lineno, f_index,
                                      n_index, op, arg))
    return mutants


def _replace(fn: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(fn):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                setattr(parent, name, [new if item is old else item for item in value])
                return
    raise LookupError("node not found in its function")


def mutated_tree(source: str, mutant: Mutant) -> ast.Module:
    tree = ast.parse(source)
    _, fn = functions(tree)[mutant.func_index]
    node = list(ast.walk(fn))[mutant.node_index]
    k = mutant.arg
    if mutant.op == "flip":
        node.ops[k] = FLIPS[type(node.ops[k])]()
    elif mutant.op == "swap":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif mutant.op == "drop":
        rest = node.values[:k] + node.values[k + 1:]
        if len(rest) == 1:
            _replace(fn, node, rest[0])
        else:
            node.values = rest
    elif mutant.op == "drop-cond":
        node.args = node.args[:k] + node.args[k + 1:]
    elif mutant.op == "not":
        _replace(fn, node, node.operand)
    elif mutant.op == "return-none":
        node.value = ast.Constant(None)
    elif mutant.op in ("no-raise", "delete"):
        _replace(fn, node, ast.Pass())
    else:
        raise ValueError(mutant.op)
    return ast.fix_missing_locations(tree)
