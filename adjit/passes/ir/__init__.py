"""The vocabulary every stage shares: AST node builders (`build`), the names
adjit generates (`naming`), exact constant folding (`fold`) and the
rendering of a generated function to commented source (`render`).

Nothing here is a pass: these modules import no other stage.
"""
