"""The front end: a Python function -> its ANF core, calls inlined.

Accepts: any function defined in a file. Guarantees: either a located
`UnsupportedSyntaxError`/`DifferentiationError`, or a `ParsedFunction` whose
tree uses only `NAME = EXPR`, `if`, `for NAME in range(...)`, `while` and one
final `return`, one operation per statement, every call a registered
primitive, no variable holding a tuple. Independent of argument types but
for the structure of tuple arguments (`tuples`), so run once per function
and structure.
"""
