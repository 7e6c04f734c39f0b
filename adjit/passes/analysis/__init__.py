"""Typed analyses of the ANF core, and the small rewrites that prepare it.

Accepts: the front end's ANF tree and the argument types of one call.
Guarantees: a name that changes type renamed per type, and each web of an
array name named apart (`webs`); every variable typed (`types`); array
names still bound to several arrays turned into int slots of one stacked
array (`slots`); elementwise statements inside loops and in-place array
operators made element loops (`lower`); views placed in the operations
that read them, loop-invariant int temporaries hoisted; the active
variables (`activity`) and the array facts (`arrays`) the transformations
need, or a located error where the uses cannot be differentiated; and the
loop facts (`loopforms`, `parallel`, `private`) later stages query.
"""
